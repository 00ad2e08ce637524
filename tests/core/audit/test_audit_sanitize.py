from __future__ import annotations

import json

import pytest
from audit_support import RAW_CARD, RAW_SECRET
from haechi.audit import FORBIDDEN_KEYS, sanitize_event
from haechi.audit.sanitize import MAX_SAFE_INTEGER
from haechi.errors import HaechiError
from hypothesis import given, settings
from hypothesis import strategies as st


def _all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in _all_keys(item)}
    if isinstance(value, list):
        return {k for item in value for k in _all_keys(item)}
    return set()


@pytest.mark.parametrize("key", sorted(FORBIDDEN_KEYS))
def test_every_forbidden_key_is_dropped_at_any_depth(key):
    event = {
        key: RAW_SECRET,
        "detections": [{key: RAW_SECRET, "nested": {key: {"deeper": RAW_SECRET}}}],
        "identity": {"id": "u1", key: [RAW_SECRET]},
        "keep": "ok",
    }
    cleaned = sanitize_event(event)
    assert key not in _all_keys(cleaned)
    assert RAW_SECRET not in json.dumps(cleaned)
    assert cleaned["keep"] == "ok"
    assert cleaned["detections"] == [{"nested": {}}]


def test_forbidden_keys_are_matched_without_regard_to_case():
    cleaned = sanitize_event({"Value": RAW_SECRET, "SECRET": RAW_SECRET, "Plaintext": 1})
    assert cleaned == {}


def test_the_input_is_not_modified():
    event = {"value": RAW_SECRET, "inner": {"secret": RAW_SECRET}}
    sanitize_event(event)
    assert event == {"value": RAW_SECRET, "inner": {"secret": RAW_SECRET}}


def test_summary_counts_of_secret_survive_quirk_4():
    event = {
        "summary": {
            "detectionCount": 3,
            "byType": {"email": 1, "secret": 2},
            "byAction": {"block": 3},
            "suppressedCount": 1,
            "suppressedByType": {"secret": 1},
            "droppedCount": 4,
            "droppedByType": {"secret": 4, "phone": 0},
        }
    }
    assert sanitize_event(event) == event
    assert list(sanitize_event(event)["summary"]["byType"]) == ["email", "secret"]


@pytest.mark.parametrize(
    "smuggled",
    [RAW_SECRET, {"raw": RAW_SECRET}, [RAW_SECRET], True, 1.5, -1, int(RAW_CARD), None],
)
def test_a_secret_key_in_a_count_map_keeps_only_a_bounded_int_count(smuggled):
    event = {"summary": {"detectionCount": 5, "byType": {"secret": smuggled, "email": 1}}}
    cleaned = sanitize_event(event)
    assert cleaned["summary"]["byType"] == {"email": 1}
    assert RAW_SECRET not in json.dumps(cleaned)
    assert RAW_CARD not in json.dumps(cleaned)


def test_a_count_needs_its_summary_total():
    no_total = sanitize_event({"summary": {"byType": {"secret": 1}}})
    assert no_total["summary"]["byType"] == {}
    text_total = sanitize_event({"summary": {"detectionCount": "9", "byType": {"secret": 1}}})
    assert text_total["summary"]["byType"] == {}
    # suppressedByType is bounded by suppressedCount, not by detectionCount
    other_total = sanitize_event(
        {"summary": {"detectionCount": 9, "suppressedCount": 1, "suppressedByType": {"secret": 2}}}
    )
    assert other_total["summary"]["suppressedByType"] == {}


@pytest.mark.parametrize(
    "event",
    [
        {"byType": {"secret": 1}, "detectionCount": 1},  # not inside a summary
        {"summary": {"detectionCount": 1, "other": {"secret": 1}}},  # not a count map
        {"detections": [{"summary": {"detectionCount": 1, "byType": {"secret": 1}}}]},  # nested
        {"summary": {"detectionCount": 1, "byType": {"nested": {"secret": 1}}}},
    ],
)
def test_secret_elsewhere_is_still_dropped(event):
    assert "secret" not in _all_keys(sanitize_event(event))


@pytest.mark.parametrize(
    "bad",
    [
        {1: "x"},
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": {RAW_SECRET}},
        {"x": MAX_SAFE_INTEGER + 1},
        {"x": b"bytes"},
    ],
)
def test_non_json_events_are_refused_without_echoing_values(bad):
    with pytest.raises(HaechiError) as caught:
        sanitize_event(bad)
    assert RAW_SECRET not in str(caught.value)


def test_a_non_object_event_is_refused():
    with pytest.raises(HaechiError):
        sanitize_event(["not", "an", "object"])  # type: ignore[arg-type]


def test_tuples_become_lists_and_scalars_pass():
    cleaned = sanitize_event({"t": (1, "a", None, False, 0.5)})
    assert cleaned == {"t": [1, "a", None, False, 0.5]}


_KEYS = st.sampled_from(
    [*sorted(FORBIDDEN_KEYS), "Secret", "VALUE", "byType", "summary", "detectionCount", "id"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=30,
)


def _forbidden_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            if key.casefold() in FORBIDDEN_KEYS:
                yield (*path, key), item
            yield from _forbidden_paths(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from _forbidden_paths(item, (*path, "[]"))


@settings(max_examples=300, deadline=None)
@given(event=st.dictionaries(_KEYS, _JSON, max_size=6))
def test_only_bounded_summary_counts_keep_a_forbidden_key(event):
    cleaned = sanitize_event(event)
    for path, value in _forbidden_paths(cleaned):
        assert len(path) == 3 and path[0] == "summary" and path[1] == "byType"
        assert isinstance(value, int) and not isinstance(value, bool)
        assert 0 <= value <= cleaned["summary"]["detectionCount"]
