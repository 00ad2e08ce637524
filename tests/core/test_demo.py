"""The README demo (``python -m haechi.demo``) runs end to end and leaks no raw value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from haechi.demo import RAW_VALUES


def test_demo_exits_0_and_reports_no_raw_values(tmp_path: Path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "haechi.demo", "--keep"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "raw values in the audit log: NONE" in proc.stdout
    assert "valid=True" in proc.stdout

    (workdir,) = tmp_path.glob("haechi-demo-*")  # kept by --keep
    audit = (workdir / ".haechi" / "audit.jsonl").read_text()
    events = [json.loads(line) for line in audit.splitlines()]
    assert [e["blocked"] for e in events] == [False, True]  # chat protected, card blocked
    for value in RAW_VALUES:
        for variant in {value, value.replace(" ", ""), value.replace("-", "")}:
            assert variant not in audit, value


def test_demo_removes_its_working_directory_by_default(tmp_path: Path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "haechi.demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not list(tmp_path.glob("haechi-demo-*"))
