from __future__ import annotations

import re
import uuid

import attrs
import pytest
from haechi.audit import (
    iso_timestamp,
    payload_shape_hash,
    protect_event,
    proxy_decision_event,
    stream_decision_event,
)
from haechi.canonical import short_hash

ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@attrs.frozen
class Context:
    protocol: str = "openai-compatible"
    operation: str = "cli protect"
    mode: str = "enforce"
    correlation_id: str | None = None
    identity: dict | None = None
    profile: str | None = None


def test_timestamps_look_like_javascript_to_iso_string():
    assert ISO_MS_Z.match(iso_timestamp())


def test_shape_hash_is_short_hash_of_the_shape_json():
    payload = {"a": "héllo", "b": [1, True, None, 2.5], "😀": {"c": ""}}
    shape = (
        '{"a":{"type":"string","length":5},"b":[{"type":"number"},{"type":"boolean"},'
        '{"type":"null"},{"type":"number"}],"😀":{"c":{"type":"string","length":0}}}'
    )
    assert payload_shape_hash(payload) == short_hash(shape)


def test_shape_hash_ignores_values_but_not_structure_or_lengths():
    base = payload_shape_hash({"m": "secret-one", "n": 1})
    assert payload_shape_hash({"m": "public-two", "n": 99}) == base
    assert payload_shape_hash({"m": "short", "n": 1}) != base
    assert payload_shape_hash({"n": 1, "m": "secret-one"}) != base  # key order is shape
    assert payload_shape_hash({"m": "secret-one", "n": "1"}) != base


def test_shape_hash_counts_string_length_in_utf16_units():
    assert payload_shape_hash("😀") == short_hash('{"type":"string","length":2}')


def test_shape_hash_survives_very_deep_nesting():
    deep: object = "leaf"
    for _ in range(5000):
        deep = [deep]
    assert re.fullmatch(r"[0-9a-f]{12}", payload_shape_hash(deep))


def test_protect_event_has_the_frozen_schema_and_no_payload_value():
    identity = {
        "id": "tok_auth_1",
        "type": "user",
        "subjectHash": "h1",
        "issuerHash": "h2",
        "provider": "bearer",
        "claims": {"email": "jane@example.com"},
    }
    event = protect_event(
        context=Context(identity=identity, correlation_id=str(uuid.uuid4()), profile="p"),
        enforced=True,
        blocked=False,
        shape_hash=payload_shape_hash({"messages": [{"content": "jane@example.com"}]}),
        detections=[
            {
                "type": "email",
                "ruleId": "email",
                "path": "key_x",
                "kind": "value",
                "confidence": 0.9,
                "action": "redact",
                "enforced": True,
            }
        ],
        summary={"detectionCount": 1, "byType": {"email": 1}, "byAction": {"redact": 1}},
    )
    assert list(event) == [
        "schemaVersion",
        "id",
        "correlationId",
        "timestamp",
        "protocol",
        "operation",
        "identity",
        "profile",
        "mode",
        "enforced",
        "blocked",
        "payloadShapeHash",
        "detections",
        "summary",
    ]
    assert event["schemaVersion"] == "1"
    assert uuid.UUID(event["id"]).version == 4
    assert ISO_MS_Z.match(event["timestamp"])
    assert event["identity"] == {
        "id": "tok_auth_1",
        "type": "user",
        "subjectHash": "h1",
        "issuerHash": "h2",
        "provider": "bearer",
    }
    assert "jane@example.com" not in repr(event)


def test_proxy_decision_event():
    event = proxy_decision_event(
        protocol="openai-compatible",
        route_id="chat.completions",
        path="/v1/chat/completions",
        mode="enforce",
        decision="rate_limited",
        reason="rate:60",
        blocked=True,
    )
    assert event["operation"] == "proxy:openai-compatible:chat.completions"
    assert event["pathHash"] == short_hash("/v1/chat/completions")
    assert event["summary"] == {"detectionCount": 0, "byType": {}, "byAction": {"rate_limited": 1}}
    assert (event["decision"], event["reason"], event["blocked"]) == (
        "rate_limited",
        "rate:60",
        True,
    )
    assert event["identity"] is None and "schemaVersion" not in event


@pytest.mark.parametrize(
    ("decision", "reason", "blocked"),
    [
        ("stream_blocked", "stream_policy_block", True),
        ("stream_inspected", "stream_inspected", False),
    ],
)
def test_stream_decision_event(decision, reason, blocked):
    summary = {"detectionCount": 2, "byType": {"email": 2}, "byAction": {"mask": 2}}
    event = stream_decision_event(
        protocol="openai-compatible",
        operation="request:POST chat.completions",
        route_id="chat.completions",
        path="/v1/chat/completions",
        mode="enforce",
        decision=decision,
        summary=summary,
    )
    assert event["operation"] == "response-stream:request:POST chat.completions"
    assert (event["decision"], event["reason"], event["blocked"]) == (decision, reason, blocked)
    assert event["summary"] == summary


def test_stream_decision_event_refuses_unknown_decisions():
    with pytest.raises(ValueError):
        stream_decision_event(
            protocol="p",
            operation="o",
            route_id="r",
            path="/",
            mode="enforce",
            decision="forwarded",
            summary={},
        )  # type: ignore[arg-type]


def test_event_ids_are_v4_uuids_and_a_forked_child_never_repeats_the_parent():
    import os
    import uuid

    from haechi.audit.events import new_event_id

    ids = [new_event_id() for _ in range(600)]  # more than one pool refill
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child takes from its own, freshly filled pool
        os.write(write_end, new_event_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read_end, 64).decode()
    assert child_id != new_event_id()
