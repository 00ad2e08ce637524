"""The fast paths of the protect call give the same answers as the exact paths they skip,
and the engine finishes on texts that open with a match its validator rejects."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from haechi.audit.events import iso_timestamp, new_event_id
from haechi.canonical import (
    _canonical_into,
    _js_float_text,
    canonicalize,
    canonicalize_utf8,
    js_number,
)
from haechi.detect.precision import PrecisionFilter
from haechi.findings import Finding
from haechi.pipeline import ProtectContext
from haechi.runtime import default_runtime
from hypothesis import given, settings
from hypothesis import strategies as st

#: Each opens with a shape a look-behind rule matches and its validator rejects (a Unix
#: timestamp is a kr-phone shape; 12 digits an Aadhaar / My Number shape).
REJECTED_AT_START = [
    "1714564800",
    "171456480000",
    "234567890123",
    "000-12-3456",
    "1714564800 then 010-1234-5678",
    "234567890123 and 4111 1111 1111 1111",
]


@pytest.fixture(scope="module")
def runtime():
    return default_runtime()


def _scan_with_deadline(engine, text: str, direction: str):
    """Scan in a worker thread; a scan that never returns fails instead of hanging."""
    result: list = []
    worker = threading.Thread(target=lambda: result.append(engine.scan(text, direction)),
                              daemon=True)
    worker.start()
    worker.join(60)
    assert result, f"the scan of a {len(text)}-character text did not finish"
    return result[0]


@pytest.mark.parametrize("text", REJECTED_AT_START)
@pytest.mark.parametrize("direction", ["request", "response"])
def test_a_rejected_match_at_offset_zero_does_not_stall_the_scan(runtime, text, direction):
    found = _scan_with_deadline(runtime.engine, text, direction)
    expected = {"1714564800 then 010-1234-5678": [("phone", 16, 29)],
                "234567890123 and 4111 1111 1111 1111": [("card", 17, 36)]}
    assert [(m.type, m.start, m.end) for m in found] == expected.get(text, [])


def test_a_request_with_a_unix_timestamp_is_protected(runtime):
    document = {"created": 1714564800, "messages": [{"content": "mail a@example.com"}]}
    context = ProtectContext(protocol="openai-compatible", operation="test",
                             direction="request", mode="dry-run")
    result = runtime.protector.protect(document, context, runtime.policies.base, audit=False)
    assert [d.finding.type for d in result.findings] == ["email"]


finite_floats = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0)


@settings(max_examples=3000)
@given(finite_floats)
def test_js_number_fast_path_equals_the_digit_by_digit_path(value):
    assert js_number(value) == _js_float_text(value)


@pytest.mark.parametrize("value", [0.2, 1e-4, 1.5e-4, 9.5e-5, 123.456, 1e16 - 2, 1e16, 1e21, 5e-7])
def test_js_number_at_the_edges_of_the_fast_path(value):
    assert js_number(value) == _js_float_text(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | finite_floats | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(json_values)
def test_canonicalize_fast_path_equals_the_reference_exact_encoder(value):
    parts: list[str] = []
    _canonical_into(value, parts)
    assert canonicalize(value) == "".join(parts)
    assert canonicalize_utf8(value) == "".join(parts).encode("utf-8")


def test_event_ids_are_version_4_uuids():
    ids = {new_event_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_iso_timestamp_is_now_in_the_reference_format():
    before = datetime.now(UTC).replace(microsecond=0)
    text = iso_timestamp()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert before <= stamp <= after + timedelta(milliseconds=1)


def _finding(type_: str, value: str, path: str, confidence: float) -> Finding:
    return Finding(type=type_, rule_id=type_, path_text=path, kind="value", start=0,
                   end=len(value), confidence=confidence, value=value)


def test_precision_filter_verdicts():
    controls = PrecisionFilter([("a@example.com", None), (None, "key_2"), (None, None)], 0.8)
    assert controls.verdict(_finding("email", "a@example.com", "key_1", 0.95)) == "suppressed"
    assert controls.verdict(_finding("email", "b@example.com", "key_2", 0.95)) == "suppressed"
    assert controls.verdict(_finding("email", "b@example.com", "key_1", 0.5)) == "dropped"
    assert controls.verdict(_finding("email", "b@example.com", "key_1", 0.95)) == "kept"
    # Hard-block types pass both controls.
    assert controls.verdict(_finding("card", "a@example.com", "key_2", 0.1)) == "kept"


def test_protect_phases_agree_with_protect(runtime):
    raw = {"messages": [{"content": "mail a@example.com or call 010-1234-5678"}],
           "a@example.com": 1, "n": 4111111111111111}
    context = ProtectContext(protocol="openai-compatible", operation="test",
                             direction="request", mode="dry-run")
    protector = runtime.protector
    policy = runtime.policies.base
    document = json.loads(json.dumps(raw))
    walk = protector.walk(document, "request")
    decision = protector.decide(walk, runtime.engine.scan_many(walk.texts, "request"), policy)
    result = protector.protect(document, context, policy, audit=False)
    assert result.summary == decision.summary
    assert result.findings == decision.findings
    assert decision.summary["byAction"] == {"redact": 2, "mask": 1, "block": 1}
    assert [leaf.kind for leaf, _ in decision.by_leaf] == ["value", "key", "number"]
