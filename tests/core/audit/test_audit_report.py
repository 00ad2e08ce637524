from __future__ import annotations

import pytest
from audit_support import sample_event
from haechi.audit import AuditChain, proxy_decision_event, read_audit_summary
from haechi.errors import HaechiError


def test_a_missing_file_gives_zeros(tmp_path):
    assert read_audit_summary(tmp_path / "nope.jsonl") == {
        "events": 0,
        "blocked": 0,
        "detections": 0,
        "byType": {},
        "byAction": {},
    }


def test_counts_every_kind_of_record_including_secret(log_path):
    chain = AuditChain(log_path)
    for index in range(4):  # indexes 0 and 3 are blocked
        chain.record(sample_event(index))
    chain.record(
        proxy_decision_event(
            protocol="openai-compatible",
            route_id="chat",
            path="/v1/chat/completions",
            mode="enforce",
            decision="auth_denied",
            reason="no_token",
            blocked=True,
        )
    )
    chain.record({"protocol": "token-vault", "decision": "purge", "blocked": False})
    assert read_audit_summary(log_path) == {
        "events": 6,
        "blocked": 3,
        "detections": 8,
        "byType": {"secret": 4, "email": 4},
        "byAction": {"block": 4, "redact": 4, "auth_denied": 1},
    }


def test_non_count_values_are_not_summed(log_path):
    AuditChain(log_path).record(
        {
            "blocked": "yes",
            "summary": {
                "detectionCount": "3",
                "byType": {"email": True, "phone": 2},
                "byAction": [],
            },
        }
    )
    assert read_audit_summary(log_path) == {
        "events": 1,
        "blocked": 0,
        "detections": 0,
        "byType": {"phone": 2},
        "byAction": {},
    }


def test_a_garbage_line_is_an_error_naming_the_line(write_chain):
    path = write_chain(2)
    with open(path, "ab") as log:
        log.write(b"garbage\n")
    with pytest.raises(HaechiError, match="line 3"):
        read_audit_summary(path)
