from __future__ import annotations

import io
import json
import re
import stat

import pytest
from audit_support import sample_event
from haechi.audit import AuditChain, FileAnchor, StdoutAnchor, anchor_for, verify_audit_chain
from haechi.errors import ConfigError


def test_file_anchor_every_n_records(log_path, anchor_path):
    chain = AuditChain(log_path, anchor=FileAnchor(anchor_path, every_records=3))
    stored = [chain.record(sample_event(index)) for index in range(10)]
    anchors = [json.loads(line) for line in anchor_path.read_text().splitlines()]
    assert [a["sequence"] for a in anchors] == [3, 6, 9]
    assert [a["eventHash"] for a in anchors] == [
        stored[i]["auditIntegrity"]["eventHash"] for i in (2, 5, 8)
    ]
    assert all(list(a) == ["sequence", "eventHash", "timestamp"] for a in anchors)
    assert stat.S_IMODE(anchor_path.stat().st_mode) == 0o600
    assert verify_audit_chain(log_path, anchor_path=anchor_path)["anchored"] == {
        "count": 3,
        "lastSequence": 9,
    }


def test_stdout_anchor_writes_one_line_per_due_record():
    stream = io.StringIO()
    anchor = StdoutAnchor(every_records=2, stream=stream)
    assert [anchor.attest(sequence, f"h{sequence}") for sequence in (1, 2, 3, 4)] == [
        False,
        True,
        False,
        True,
    ]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(a["sequence"], a["eventHash"]) for a in lines] == [(2, "h2"), (4, "h4")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[0]["timestamp"])


def test_stdout_anchor_defaults_to_process_stdout(capsys, log_path):
    AuditChain(log_path, anchor=anchor_for("stdout", None)).record(sample_event(0))
    assert json.loads(capsys.readouterr().out)["sequence"] == 1


def test_anchor_for_modes(tmp_path):
    assert anchor_for("none", None) is None
    assert isinstance(anchor_for("file", str(tmp_path / "a.jsonl"), 5), FileAnchor)
    with pytest.raises(ConfigError, match=r"\$\.audit\.anchor\.path"):
        anchor_for("file", None)
    with pytest.raises(ConfigError, match=r"\$\.audit\.anchor\.mode"):
        anchor_for("syslog", None)


@pytest.mark.parametrize("every", [0, -1, True, 1.5, "2"])
def test_every_records_must_be_a_positive_integer(every):
    with pytest.raises(ConfigError, match="everyRecords"):
        StdoutAnchor(every_records=every)
