"""A vault token's random hex id can look like an ID number by chance; a token the vault
issued is still a genuine marker, a forged one is not."""

from __future__ import annotations

from haechi.detect import DetectionEngine
from haechi.detect.builtin import BUILTIN_RULES
from haechi.detect.validators import jp_mynumber_valid


def _hex_id_with_a_my_number() -> str:
    """16 hex characters starting with 12 digits that pass the My Number checksum."""
    for n in range(10**10, 10**10 + 100):
        digits = str(n)
        for check in "0123456789":
            if jp_mynumber_valid(digits + check):
                return digits + check + "abcd"
    raise AssertionError("no valid number found")


TOKEN = f"tok_email_{_hex_id_with_a_my_number()}"
RESPONSE = f"I will write to [TOKEN:{TOKEN}] today."


def test_an_unknown_token_whose_id_looks_like_an_id_number_is_not_skipped():
    engine = DetectionEngine(BUILTIN_RULES, token_known=lambda token: False)
    assert engine.scan(RESPONSE, "response")  # fail closed: the marker is not trusted


def test_a_token_the_vault_issued_is_a_genuine_marker():
    engine = DetectionEngine(BUILTIN_RULES, token_known=lambda token: token == TOKEN)
    assert engine.scan(RESPONSE, "response") == []


def test_a_known_token_does_not_hide_anything_outside_its_marker():
    engine = DetectionEngine(BUILTIN_RULES, token_known=lambda token: token == TOKEN)
    found = engine.scan(RESPONSE + " Mail minji.kim@example.com", "response")
    assert [m.type for m in found] == ["email"]


def test_the_request_direction_still_scans_markers():
    engine = DetectionEngine(BUILTIN_RULES, token_known=lambda token: True)
    assert engine.scan(RESPONSE, "request")
