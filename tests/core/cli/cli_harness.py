"""Running the real ``haechi`` command in a working directory, for the end-to-end tests.

Imported by the tests of this folder (``from cli_harness import ...``); the fixtures that
use it are in ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

__all__ = ["HAECHI", "CliResult", "Workspace", "kr_rrn", "luhn_check_digit", "run_haechi",
           "run_haechi_tty"]

HAECHI = (sys.executable, "-m", "haechi")
CONFIG_NAME = "haechi.config.json"


@attrs.frozen
class CliResult:
    """One finished ``haechi`` process: its arguments, exit code, stdout and stderr."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def describe(self) -> str:
        return f"haechi {' '.join(self.args)} -> {self.code}\n{self.stdout}\n{self.stderr}"


def run_haechi(cwd: Path, *args: str, stdin: str | bytes | None = None) -> CliResult:
    """Run ``python -m haechi ARGS`` in ``cwd`` with stdout and stderr piped (so the JSON
    output is the default)."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    proc = subprocess.run([*HAECHI, *args], cwd=cwd, input=data, capture_output=True,
                          timeout=120, check=False)
    return CliResult(tuple(args), proc.returncode, proc.stdout.decode("utf-8"),
                     proc.stderr.decode("utf-8"))


def run_haechi_tty(cwd: Path, *args: str) -> CliResult:
    """Run ``haechi`` with stdout on a pseudo-terminal, so it prints the rich output for
    people; stderr stays a pipe."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    proc = subprocess.Popen([*HAECHI, *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    stderr = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    return CliResult(tuple(args), code, b"".join(chunks).decode("utf-8", "replace"),
                     stderr.decode("utf-8", "replace"))


@attrs.frozen
class Workspace:
    """A working directory in which ``haechi init`` has run."""

    root: Path

    def run(self, *args: str, stdin: str | bytes | None = None) -> CliResult:
        return run_haechi(self.root, *args, stdin=stdin)

    def ok(self, *args: str, stdin: str | bytes | None = None, code: int = 0) -> Any:
        """Run and return the parsed JSON output, failing with the output when the exit
        code is not ``code``."""
        result = self.run(*args, stdin=stdin)
        assert result.code == code, result.describe()
        return result.json

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def config(self) -> dict[str, Any]:
        return json.loads(self.config_path.read_text())

    def edit_config(self, change: Callable[[dict[str, Any]], None]) -> None:
        config = self.config()
        change(config)
        self.config_path.write_text(json.dumps(config, indent=2))

    def enforce(self, **actions: str) -> None:
        """Enforce mode; ``actions`` are merged into ``policy.actions``."""

        def change(config: dict[str, Any]) -> None:
            config["policy"]["mode"] = "enforce"
            config["policy"]["actions"].update(actions)

        self.edit_config(change)

    def write_json(self, name: str, value: Any) -> str:
        (self.root / name).write_text(json.dumps(value, ensure_ascii=False))
        return name

    def write_text(self, name: str, text: str) -> str:
        (self.root / name).write_text(text, encoding="utf-8")
        return name

    @property
    def audit_path(self) -> Path:
        return self.root / self.config()["audit"]["path"]

    def audit_records(self) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    @property
    def state_dir(self) -> Path:
        return self.root / ".haechi"


def luhn_check_digit(digits: str) -> str:
    """The digit that makes ``digits + d`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def kr_rrn(first_twelve: str) -> str:
    """A Korean RRN ``YYMMDD-SNNNNNC`` with a valid check digit."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (11 - sum(int(d) * w for d, w in zip(first_twelve, weights, strict=True)) % 11) % 10
    return f"{first_twelve[:6]}-{first_twelve[6:]}{check}"
