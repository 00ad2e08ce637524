"""Tampering with a log or its anchor is reported with the reference's reasons."""

from __future__ import annotations

import json

import pytest
from haechi.audit import verify_audit_chain
from haechi.audit.integrity import encode_line, event_hash
from haechi.errors import HaechiError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RECORDS = 10


def _rewrite(path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


@pytest.fixture
def chain_lines(write_chain) -> list[bytes]:
    path = write_chain(RECORDS, anchored=True)
    return path.read_bytes().splitlines(keepends=True)


def test_an_intact_chain_verifies_with_its_anchors(write_chain, anchor_path):
    path = write_chain(RECORDS, anchored=True)
    result = verify_audit_chain(path, anchor_path=anchor_path)
    last = json.loads(path.read_bytes().splitlines()[-1])
    assert result == {
        "valid": True,
        "records": RECORDS,
        "headHash": last["auditIntegrity"]["eventHash"],
        "anchored": {"count": RECORDS, "lastSequence": RECORDS},
    }
    assert "anchored" not in verify_audit_chain(path)


def test_an_empty_log_is_a_valid_empty_chain(log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(b"")
    assert verify_audit_chain(log_path) == {"valid": True, "records": 0, "headHash": None}


def test_a_missing_log_raises_naming_the_path(log_path):
    with pytest.raises(HaechiError, match=str(log_path)):
        verify_audit_chain(log_path)


@pytest.mark.parametrize("index", range(RECORDS))
def test_editing_one_byte_of_an_event_breaks_its_hash(log_path, chain_lines, index):
    line = chain_lines[index]
    position = line.index(b"cli protect") + 4
    chain_lines[index] = line[:position] + b"P" + line[position + 1 :]
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path) == {
        "valid": False,
        "records": index,
        "reason": "event hash mismatch",
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_change_is_detected(log_path, chain_lines, data):
    blob = b"".join(chain_lines)
    position = data.draw(st.integers(0, len(blob) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != blob[position]))
    log_path.write_bytes(blob[:position] + bytes([replacement]) + blob[position + 1 :])
    assert verify_audit_chain(log_path)["valid"] is False


def test_a_rehashed_forgery_breaks_the_next_link(log_path, chain_lines):
    forged = json.loads(chain_lines[4])
    forged["blocked"] = not forged["blocked"]
    forged["auditIntegrity"]["eventHash"] = event_hash(forged)
    chain_lines[4] = encode_line(forged)
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path) == {
        "valid": False,
        "records": 5,
        "reason": "previous hash mismatch",
    }


def test_swapped_lines(log_path, chain_lines):
    chain_lines[3], chain_lines[4] = chain_lines[4], chain_lines[3]
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path) == {
        "valid": False,
        "records": 3,
        "reason": "sequence mismatch",
    }


def test_a_deleted_middle_line(log_path, chain_lines):
    del chain_lines[5]
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path) == {
        "valid": False,
        "records": 5,
        "reason": "sequence mismatch",
    }


def test_a_renumbered_record_after_a_deletion(log_path, chain_lines):
    moved = json.loads(chain_lines[6])
    moved["auditIntegrity"]["sequence"] = 6
    del chain_lines[5]
    chain_lines[5] = encode_line(moved)
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path)["reason"] == "previous hash mismatch"


def test_a_record_without_integrity(log_path, chain_lines):
    record = json.loads(chain_lines[2])
    del record["auditIntegrity"]
    chain_lines[2] = encode_line(record)
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path) == {
        "valid": False,
        "records": 2,
        "reason": "missing auditIntegrity",
    }


@pytest.mark.parametrize("garbage", [b"garbage\n", b"\n", b"[1,2]\n"])
def test_a_garbage_line(log_path, chain_lines, garbage):
    chain_lines.insert(7, garbage)
    _rewrite(log_path, chain_lines)
    result = verify_audit_chain(log_path)
    assert result["valid"] is False and result["records"] == 7
    assert result["reason"] in ("unparseable JSON at line 8", "missing auditIntegrity")


def test_a_torn_tail(log_path, chain_lines):
    chain_lines[-1] = chain_lines[-1][:40]
    _rewrite(log_path, chain_lines)
    assert verify_audit_chain(log_path) == {
        "valid": False,
        "records": RECORDS - 1,
        "reason": f"incomplete line {RECORDS}",
    }


def test_tail_truncation_is_caught_only_with_an_anchor(log_path, anchor_path, chain_lines):
    _rewrite(log_path, chain_lines[:-1])
    assert verify_audit_chain(log_path)["valid"] is True  # the limit anchors exist for
    assert verify_audit_chain(log_path, anchor_path=anchor_path) == {
        "valid": False,
        "records": RECORDS - 1,
        "reason": f"tail truncation: chain has {RECORDS - 1} records but anchor attests "
        f"sequence {RECORDS}",
    }


def test_an_emptied_log_is_tail_truncation(log_path, anchor_path, chain_lines):
    _rewrite(log_path, [])
    assert verify_audit_chain(log_path, anchor_path=anchor_path)["reason"] == (
        f"tail truncation: chain has 0 records but anchor attests sequence {RECORDS}"
    )


def test_an_edited_anchor(log_path, anchor_path, chain_lines):
    anchors = anchor_path.read_bytes().splitlines(keepends=True)
    entry = json.loads(anchors[4])
    entry["eventHash"] = "A" * 43
    anchors[4] = json.dumps(entry).encode() + b"\n"
    anchor_path.write_bytes(b"".join(anchors))
    assert verify_audit_chain(log_path, anchor_path=anchor_path) == {
        "valid": False,
        "records": 4,
        "reason": "anchor hash mismatch at sequence 5",
    }


def test_a_garbage_anchor_line(log_path, anchor_path, chain_lines):
    with open(anchor_path, "ab") as anchors:
        anchors.write(b"{not json\n")
    assert verify_audit_chain(log_path, anchor_path=anchor_path)["reason"] == (
        f"unparseable anchor line {RECORDS + 1}"
    )


def test_reordered_anchors(log_path, anchor_path, chain_lines):
    anchors = anchor_path.read_bytes().splitlines(keepends=True)
    anchors[2], anchors[3] = anchors[3], anchors[2]
    anchor_path.write_bytes(b"".join(anchors))
    assert verify_audit_chain(log_path, anchor_path=anchor_path)["reason"] == (
        "anchor out of order at sequence 3"
    )


def test_a_missing_anchor_file_counts_as_no_anchors(write_chain, tmp_path):
    path = write_chain(3)
    result = verify_audit_chain(path, anchor_path=tmp_path / "none.jsonl")
    assert result["valid"] is True and result["anchored"] == {"count": 0, "lastSequence": None}
