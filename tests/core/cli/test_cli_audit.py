"""``haechi report`` and ``haechi audit-verify``: counts, a valid chain, one edited byte,
a deleted last line under a file anchor, and a missing log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_harness import HAECHI, Workspace

EMAIL = "minji.kim@example.com"


def protect_n_times(workspace: Workspace, n: int) -> None:
    name = workspace.write_json("p.json", {"a": f"mail {EMAIL}", "c": "4111111111111111"})
    for _ in range(n):
        workspace.run("protect", name)


def edit_one_byte(path: Path, line_index: int) -> None:
    """Change one digit of the timestamp of one line (the line stays valid JSON)."""
    lines = path.read_bytes().splitlines(keepends=True)
    line = lines[line_index]
    at = line.index(b'"timestamp":"') + len(b'"timestamp":"') + 3  # a year digit
    digit = line[at:at + 1]
    lines[line_index] = line[:at] + (b"7" if digit != b"7" else b"8") + line[at + 1:]
    path.write_bytes(b"".join(lines))


def test_report_counts_every_event(workspace: Workspace):
    workspace.enforce()
    protect_n_times(workspace, 2)
    workspace.run("token-reveal", "tok_email_0123456789abcdef")  # a vault event
    report = workspace.ok("report")
    assert report == {
        "ok": True,
        "auditPath": ".haechi/audit.jsonl",
        "summary": {
            "events": 3,
            "blocked": 3,
            "detections": 4,
            "byType": {"email": 2, "card": 2},
            "byAction": {"redact": 2, "block": 2, "reveal_denied": 1},
        },
    }


def test_report_counts_secret_detections(workspace: Workspace):
    """Quirk 4 fixed: ``summary.byType.secret`` survives the audit sanitizer."""
    workspace.write_json("s.json", {"k": "ghp_" + "A1b2C3d4E5" * 3 + "A1b2C3"})
    workspace.ok("protect", "s.json")
    assert workspace.ok("report")["summary"]["byType"] == {"secret": 1}


def test_report_of_a_missing_file_gives_zeros(workspace: Workspace):
    report = workspace.ok("report", "--audit", "none.jsonl")
    assert report["summary"] == {"events": 0, "blocked": 0, "detections": 0, "byType": {},
                                 "byAction": {}}
    assert workspace.ok("report", "--path", "none.jsonl")["auditPath"] == "none.jsonl"


def test_audit_verify_of_a_valid_chain(workspace: Workspace):
    protect_n_times(workspace, 3)
    report = workspace.ok("audit-verify")
    assert report["ok"] is True and report["command"] == "audit-verify"
    assert report["auditPath"] == ".haechi/audit.jsonl"
    assert report["anchorPath"] is None
    result = report["result"]
    assert result["valid"] is True and result["records"] == 3
    assert result["headHash"] == workspace.audit_records()[-1]["auditIntegrity"]["eventHash"]


def test_one_edited_byte_is_an_event_hash_mismatch_with_exit_4(workspace: Workspace):
    protect_n_times(workspace, 3)
    edit_one_byte(workspace.audit_path, 1)
    result = workspace.run("audit-verify")
    assert result.code == 4, result.describe()
    report = result.json
    assert report["ok"] is False
    assert report["result"]["valid"] is False
    assert report["result"]["reason"] == "event hash mismatch"


def test_an_edited_previous_hash_breaks_the_chain(workspace: Workspace):
    protect_n_times(workspace, 2)
    lines = workspace.audit_path.read_text().splitlines()
    second = json.loads(lines[1])
    second["auditIntegrity"]["previousHash"] = "A" * 43
    lines[1] = json.dumps(second, separators=(",", ":"))
    workspace.audit_path.write_text("\n".join(lines) + "\n")
    result = workspace.run("audit-verify", "--audit", ".haechi/audit.jsonl")
    assert result.code == 4
    assert result.json["result"]["reason"] == "previous hash mismatch"


def test_deleting_the_last_line_is_tail_truncation_under_a_file_anchor(workspace: Workspace):
    workspace.edit_config(lambda c: c["audit"]["anchor"].update(mode="file"))
    protect_n_times(workspace, 3)
    assert workspace.ok("audit-verify", "--anchor")["result"]["anchored"]["lastSequence"] == 3
    lines = workspace.audit_path.read_bytes().splitlines(keepends=True)
    workspace.audit_path.write_bytes(b"".join(lines[:-1]))

    result = workspace.run("audit-verify", "--anchor")
    assert result.code == 4, result.describe()
    report = result.json
    assert report["anchorPath"] == ".haechi/audit.anchor.jsonl"
    assert report["result"]["reason"] == (
        "tail truncation: chain has 2 records but anchor attests sequence 3")
    # An explicit anchor path gives the same verdict.
    explicit = workspace.run("audit-verify", "--audit", ".haechi/audit.jsonl",
                             "--anchor", ".haechi/audit.anchor.jsonl")
    assert explicit.code == 4
    # ``status`` surfaces the broken chain as a warning.
    warnings = workspace.ok("status")["warnings"]
    assert any(w.startswith("audit chain verification failed: tail truncation") for w in warnings)


def test_anchor_file_is_private(workspace: Workspace):
    workspace.edit_config(lambda c: c["audit"]["anchor"].update(mode="file"))
    protect_n_times(workspace, 1)
    assert (workspace.state_dir / "audit.anchor.jsonl").stat().st_mode & 0o077 == 0


def test_audit_verify_of_a_missing_file_is_exit_1(workspace: Workspace):
    result = workspace.run("audit-verify", "--audit", "gone.jsonl")
    assert result.code == 1
    assert result.stderr.startswith("haechi: ") and "gone.jsonl" in result.stderr


def test_concurrent_protect_processes_keep_one_valid_chain(workspace: Workspace):
    workspace.enforce(email="tokenize")
    name = workspace.write_json("p.json", {"a": f"mail {EMAIL}"})
    procs = [subprocess.Popen([*HAECHI, "protect", name], cwd=workspace.root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(6)]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    result = workspace.ok("audit-verify")["result"]
    assert result["valid"] is True and result["records"] == 6
    sequences = [e["auditIntegrity"]["sequence"] for e in workspace.audit_records()]
    assert sequences == [1, 2, 3, 4, 5, 6]
    assert len(workspace.ok("token-export")["tokens"]) == 6
