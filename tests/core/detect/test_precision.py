from __future__ import annotations

from haechi.detect import apply_precision
from haechi.findings import HARD_BLOCK_TYPES, Finding


def _finding(type_name: str, value: str, confidence: float, path: str = "key_aaa") -> Finding:
    return Finding(
        type=type_name,
        rule_id=type_name,
        path_text=path,
        kind="value",
        start=0,
        end=len(value),
        confidence=confidence,
        value=value,
    )


def test_allowlist_by_value_and_by_path():
    email = _finding("email", "a@example.com", 0.95, "key_1")
    phone = _finding("phone", "010-1234-5678", 0.9, "key_2")
    other = _finding("email", "b@example.com", 0.95, "key_3")
    result = apply_precision([email, phone, other], [("a@example.com", None), (None, "key_2")], 0)
    assert result.kept == (other,)
    assert result.suppressed_by_type == {"email": 1, "phone": 1}
    assert result.dropped_by_type == {}


def test_entry_with_both_fields_needs_both():
    email = _finding("email", "a@example.com", 0.95, "key_1")
    result = apply_precision([email], [("a@example.com", "key_other")], 0)
    assert result.kept == (email,)


def test_allowlist_runs_before_min_confidence():
    phone = _finding("phone", "+4479111234567", 0.8)
    result = apply_precision([phone], [("+4479111234567", None)], 0.99)
    assert result.suppressed_by_type == {"phone": 1} and result.dropped_by_type == {}


def test_min_confidence_drops_below_only():
    low = _finding("uk_nino", "AB123456C", 0.7)
    exact = _finding("email", "a@example.com", 0.95)
    result = apply_precision([low, exact], [], 0.95)
    assert result.kept == (exact,)
    assert result.dropped_by_type == {"uk_nino": 1}


def test_hard_block_types_are_never_suppressed_or_dropped():
    findings = [_finding(t, "4111111111111111", 0.1) for t in sorted(HARD_BLOCK_TYPES)]
    result = apply_precision(findings, [("4111111111111111", None), (None, "key_aaa")], 0.99)
    assert result.kept == tuple(findings)
    assert result.suppressed_by_type == {} and result.dropped_by_type == {}
