"""The sanitizer's answer to "does orjson encode this canonically?" is what the seal trusts
instead of walking the record again: it must never say yes when the exact encoder differs,
and a record sealed with it must carry the hash the verifier recomputes."""

from __future__ import annotations

import math

import pytest
from haechi.audit.integrity import event_hash, seal
from haechi.audit.sanitize import sanitize_event, sanitize_for_seal
from haechi.canonical import _canonical_into, canonicalize_utf8
from haechi.errors import HaechiError
from hypothesis import given, settings
from hypothesis import strategies as st

_KEYS = st.sampled_from(
    [
        "id",
        "type",
        "byType",
        "summary",
        "detectionCount",
        "value",
        "Secret",
        "email",
        "é",
        "\U0001f600",
        "\ue000",
        "\u017fecret",  # long s: case-folds to "secret"
        "\u212a",  # Kelvin sign: case-folds to "k"
    ]
)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1.0, 0.5, 1e-5, 1e16, 1e21, -0.0, 123.25]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | _FLOATS
    | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=20,
)


def _exact_bytes(value) -> bytes:
    parts: list[str] = []
    _canonical_into(value, parts)
    return "".join(parts).encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(event=st.dictionaries(_KEYS, _JSON, max_size=6))
def test_a_record_sealed_on_the_sanitizers_word_has_the_exact_hash(event):
    cleaned, exact = sanitize_for_seal(event)
    assert cleaned == sanitize_event(event)
    if exact:
        assert canonicalize_utf8(cleaned, checked_exact=True) == _exact_bytes(cleaned)
    record = seal(cleaned, 7, "previous", checked_exact=exact)
    assert record["auditIntegrity"]["eventHash"] == event_hash(record)


@pytest.mark.parametrize(
    "event",
    [
        {"confidence": 1.0},
        {"confidence": 1e-5},
        {"confidence": 2e16},
        {"détail": 1},
        {"summary": {"detectionCount": 1, "byType": {"\U0001f600": 1}}},
        {"detections": [{"path": "p", "confidence": 5.0}]},
        {"identity": {"subjectHash": "h", "x": [0.5, 3.0]}},
    ],
)
def test_records_orjson_would_print_differently_are_not_called_exact(event):
    assert sanitize_for_seal(event)[1] is False


def test_a_protect_shaped_event_is_exact():
    event = {
        "schemaVersion": "1", "id": "x", "correlationId": None, "identity": None,
        "detections": [{"type": "email", "ruleId": "email", "path": "key_a", "kind": "value",
                        "confidence": 0.95, "action": "redact", "enforced": True}],
        "summary": {"detectionCount": 1, "byType": {"email": 1}, "byAction": {"redact": 1}},
    }  # fmt: skip
    cleaned, exact = sanitize_for_seal(event)
    assert exact and cleaned == event and cleaned["detections"][0] is not event["detections"][0]


class _Key(str):
    pass


@pytest.mark.parametrize(
    "event",
    [
        {_Key("id"): "x"},
        {"summary": {"detectionCount": 1, "byType": {_Key("email"): 1}}},
        {"summary": {"detectionCount": 1, "byType": {"email": math.inf}}},
        {"summary": {"detectionCount": 1, "byType": {"email": 2**53}}},
        {"detections": [{"type": "email", 3: "x"}]},
    ],
)
def test_the_fast_paths_still_refuse_what_the_sanitizer_refuses(event):
    with pytest.raises(HaechiError):
        sanitize_for_seal(event)


def test_fast_key_checks_still_drop_forbidden_keys_in_any_case():
    event = {
        "identity": {"id": "u", "Secret": "raw"},
        "extra": {"nonce": "raw", "ok": 1},
        "summary": {"detectionCount": 1, "byType": {"secret": 1, "VALUE": "raw"}},
    }
    cleaned, _ = sanitize_for_seal(event)
    assert cleaned == {
        "identity": {"id": "u"},
        "extra": {"ok": 1},
        "summary": {"detectionCount": 1, "byType": {"secret": 1}},
    }
