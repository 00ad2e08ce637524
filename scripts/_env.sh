# Shared by scripts/demo and scripts/test: make .venv with Python 3.11+ and install the
# workspace's distributions (editable) plus the development tools. Idempotent and quick
# when nothing changed (a stamp file records the hash of the dependency files).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "haechi: Python 3.11 or newer is required" >&2; exit 1; }
VENV="$ROOT/.venv"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
STAMP="$VENV/.haechi-deps"
WANT="$( (cat requirements-dev.txt haechi-*/pyproject.toml docs/examples/*/pyproject.toml 2>/dev/null || true) | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$WANT" > "$STAMP"
fi
# Node packages of the test suite (a real MCP server from npm), when npm is available.
NODE_DIR="$ROOT/tests/core/mcp/node"
if command -v npm >/dev/null 2>&1; then
  NODE_WANT="$(sha256sum "$NODE_DIR/package-lock.json" | cut -c1-16)"
  if [ "$(cat "$NODE_DIR/node_modules/.haechi-deps" 2>/dev/null)" != "$NODE_WANT" ]; then
    npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$NODE_WANT" > "$NODE_DIR/node_modules/.haechi-deps"
  fi
fi
export PATH="$VENV/bin:$PATH"
