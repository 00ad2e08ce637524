"""A log written here verifies under the reference's algorithm, recomputed independently
of the sink code: once by a small canonicalizer in this file, once by Node.js running the
spec's algorithm. And a log written by that Node script verifies here."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess

import pytest
from audit_support import sample_event
from haechi.audit import AuditChain, payload_shape_hash, verify_audit_chain

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

#: Values whose JSON differs between naive encoders: UTF-16 vs code-point key order, JS
#: number formatting, escapes, a lone surrogate, line separators.
TRICKY = {
    "\uffff": 1,
    "😀": 2,
    "é": 3,
    "Z": 4,
    "a": 5,
    "10": 6,
    "9": 7,
    "numbers": [0.1, 0.2 + 0.1, 1.0, -0.0, 1e21, 1.5e-7, 123456789.125, 1e-6, 2**53 - 1, -7],
    "strings": [
        "line\nbreak",
        "tab\t",
        'quote"',
        "back\\slash",
        "\u2028\u2029",
        "\x00\x1f",
        "\ud800 lone",
        "😀 astral",
        "ascii",
    ],
    "nested": {"b": [{"y": None, "x": True}], "a": False},
}


def _independent_canonical(value) -> str:
    """json-stable-v1 for the values above, written without haechi.canonical."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return (
            "{"
            + ",".join(
                json.dumps(k, ensure_ascii=False) + ":" + _independent_canonical(value[k])
                for k in keys
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_independent_canonical(item) for item in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def test_chain_recomputed_independently(log_path):
    chain = AuditChain(log_path)
    for index in range(5):
        chain.record(sample_event(index, extra={"\uffff": 1, "😀": 2, "é": [0.5, 1.0, 3]}))
    previous = None
    for sequence, line in enumerate(log_path.read_text(encoding="utf-8").splitlines(), 1):
        record = json.loads(line)
        integrity = dict(record["auditIntegrity"])
        stored_hash = integrity.pop("eventHash")
        assert integrity == {
            "alg": "sha256",
            "canonicalization": "json-stable-v1",
            "sequence": sequence,
            "previousHash": previous,
        }
        text = _independent_canonical({**record, "auditIntegrity": integrity})
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == stored_hash
        previous = stored_hash


NODE_SCRIPT = r"""
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

function canonicalize(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalize).join(',') + ']';
  return '{' + Object.keys(value).sort()
    .map((key) => JSON.stringify(key) + ':' + canonicalize(value[key])).join(',') + '}';
}
function eventHash(record) {
  const { eventHash: _omitted, ...integrity } = record.auditIntegrity;
  return createHash('sha256').update(canonicalize({ ...record, auditIntegrity: integrity }))
    .digest('base64url');
}
function shape(value) {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  if (typeof value === 'string') return { type: 'string', length: value.length };
  return { type: value === null ? 'null' : typeof value };
}

const [command, path, extra] = process.argv.slice(2);
if (command === 'verify') {
  let previousHash = null;
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
  for (const [index, line] of lines.entries()) {
    const record = JSON.parse(line);
    const integrity = record.auditIntegrity;
    if (integrity.sequence !== index + 1 || integrity.previousHash !== previousHash
        || integrity.eventHash !== eventHash(record)) {
      console.log(JSON.stringify({ valid: false, records: index }));
      process.exit(1);
    }
    previousHash = integrity.eventHash;
  }
  console.log(JSON.stringify({ valid: true, records: lines.length, headHash: previousHash }));
} else if (command === 'write') {
  const tricky = JSON.parse(readFileSync(extra, 'utf8'));
  let previousHash = null;
  const out = [];
  for (let sequence = 1; sequence <= 7; sequence += 1) {
    const record = { id: `node-${sequence}`, timestamp: new Date().toISOString(),
      summary: { detectionCount: sequence, byType: { secret: sequence } }, tricky };
    record.auditIntegrity = { alg: 'sha256', canonicalization: 'json-stable-v1', sequence,
      previousHash };
    record.auditIntegrity.eventHash = eventHash(record);
    previousHash = record.auditIntegrity.eventHash;
    out.push(JSON.stringify(record) + '\n');
  }
  writeFileSync(path, out.join(''));
  console.log(JSON.stringify({ headHash: previousHash }));
} else if (command === 'shape') {
  const payload = JSON.parse(readFileSync(extra, 'utf8'));
  const text = JSON.stringify(shape(payload));
  console.log(createHash('sha256').update(text).digest('hex').slice(0, 12));
}
"""


@pytest.fixture
def node_script(tmp_path):
    script = tmp_path / "reference_chain.mjs"
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    return script


def _tricky_json(tmp_path):
    source = tmp_path / "tricky.json"
    source.write_text(json.dumps(TRICKY), encoding="ascii")  # escapes keep the lone surrogate
    return source


def _node(*args) -> dict | str:
    done = subprocess.run([NODE, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.strip()
    return json.loads(out) if out.startswith("{") else out


@needs_node
def test_our_log_verifies_under_node(log_path, node_script):
    chain = AuditChain(log_path)
    last = None
    for index in range(6):
        last = chain.record(sample_event(index, tricky=TRICKY))
    assert _node(node_script, "verify", log_path) == {
        "valid": True,
        "records": 6,
        "headHash": last["auditIntegrity"]["eventHash"],
    }


@needs_node
def test_a_node_written_log_verifies_here_and_we_continue_it(tmp_path, log_path, node_script):
    log_path.parent.mkdir(parents=True)
    written = _node(node_script, "write", log_path, _tricky_json(tmp_path))
    assert verify_audit_chain(log_path) == {
        "valid": True,
        "records": 7,
        "headHash": written["headHash"],
    }
    stored = AuditChain(log_path).record(sample_event(8, tricky=TRICKY))
    assert stored["auditIntegrity"]["previousHash"] == written["headHash"]
    assert _node(node_script, "verify", log_path)["records"] == 8


@needs_node
def test_payload_shape_hash_matches_javascript(tmp_path, node_script):
    payload = {
        "messages": [{"role": "user", "content": "héllo 😀"}, {"n": 1.5, "ok": None}],
        **TRICKY,
    }
    source = tmp_path / "payload.json"
    source.write_text(json.dumps(payload), encoding="ascii")
    assert _node(node_script, "shape", None, source) == payload_shape_hash(payload)
