from __future__ import annotations

import base64
import json
from urllib.parse import quote

from detect_support import found
from haechi.canonical import b64url_encode
from haechi.detect import DetectionEngine, Rule, custom_rule
from haechi.detect.builtin import BUILTIN_RULES
from hypothesis import given, settings
from hypothesis import strategies as st

CARD = "4111111111111111"


def test_overlap_resolution_start_then_longer_then_rule_order():
    rules = [
        Rule(id="short", type="a", pattern=r"abc", confidence=0.5),
        Rule(id="long", type="b", pattern=r"abcdef", confidence=0.5),
        Rule(id="later", type="c", pattern=r"cdefgh", confidence=0.5),
        Rule(id="twin", type="d", pattern=r"abcdef", confidence=0.5),
    ]
    matches = DetectionEngine(rules).scan("xabcdefghx", "request")
    assert [(m.rule_id, m.start, m.end) for m in matches] == [("long", 1, 7)]


def test_non_overlapping_matches_all_kept(engine):
    text = "a@example.com b@example.com 010-1234-5678"
    assert [m.type for m in engine.scan(text, "request")] == ["email", "email", "phone"]


def test_look_behind_emulation_is_exact():
    rule = Rule(
        id="d",
        type="d",
        pattern=r"\d{3}",
        confidence=1,
        not_preceded_by=r"\d",
        not_followed_by=r"\d",
    )
    matches = DetectionEngine([rule]).scan("123 4567 890,111", "request")
    assert [m.value for m in matches] == ["123", "890", "111"]


def test_prefix_is_not_part_of_the_match():
    rule = Rule(id="p", type="p", pattern=r"\d+", confidence=1, prefix="id=")
    [match] = DetectionEngine([rule]).scan("x id=42 y", "request")
    assert (match.start, match.end, match.value) == (5, 7, "42")


def test_full_width_card_exact_span(engine):
    wide = "".join(chr(ord(c) + 0xFEE0) for c in CARD)
    text = f"카드 {wide} 입니다"
    [match] = engine.scan(text, "request")
    assert (match.type, match.start, match.end, match.value) == ("card", 3, 19, wide)


def test_mathematical_bold_rrn_is_whole_leaf(engine):
    bold = "".join(chr(0x1D7CE + int(c)) if c.isdigit() else c for c in "900101-1234568")
    text = f"rrn {bold} end"
    [match] = engine.scan(text, "request")
    assert (match.type, match.start, match.end, match.value) == ("kr_rrn", 0, len(text), text)


def test_whole_leaf_reports_one_match_per_type(engine):
    bold_card = "".join(chr(0x1D7CE + int(c)) for c in CARD)
    text = f"{bold_card} a@example.com b@example.com"
    matches = engine.scan(text, "request")
    assert sorted(m.type for m in matches) == ["card", "email"]
    assert all((m.start, m.end) == (0, len(text)) for m in matches)


def test_genuine_markers_are_skipped_on_response_only(engine):
    text = (
        "[REDACTED:email] [TOKEN:tok_email_03139e6d56015a8da2e3f544dfe74520] [TOKEN:card:1234abcd]"
    )
    assert found(engine, text, "response") == []


def test_token_marker_with_detection_inside_is_not_skipped(engine):
    text = f"[TOKEN:tok_{CARD}_0123456789abcdef]"
    card_at = text.index(CARD)
    matches = engine.scan(text, "response")
    assert any(m.start <= card_at and m.end >= card_at + len(CARD) for m in matches)
    # the type segment alone is scanned too, where the card is not glued to "_"
    plain = f"[TOKEN:{CARD}:0123abcd]"
    assert ("card", CARD) in found(engine, plain, "response")


def test_fake_encryption_marker_is_scanned(engine):
    junk = b64url_encode(json.dumps({"kid": 1}).encode())
    text = f"[HAECHI_ENC:{junk}] sk-ant-api03-abcdefghijklmnop"
    assert found(engine, text, "response") == [("secret", "sk-ant-api03-abcdefghijklmnop")]


def test_genuine_encryption_marker_hides_inner_look_alikes(engine):
    envelope = {"kid": "k1", "aadHash": "x", "ct": "AKIAIOSFODNN7EXAMPLE"}
    payload = b64url_encode(json.dumps(envelope).encode())
    assert found(engine, f"[HAECHI_ENC:{payload}]", "response") == []


def test_request_direction_scans_markers(engine):
    text = "[REDACTED:email] hi"
    assert found(engine, text, "request") == found(engine, "hi", "request") == []
    token = "[TOKEN:tok_email_" + "4111111111111111" + "ffff]"
    assert found(engine, token, "response") == []


def test_decode_and_rescan_base64_and_percent():
    engine = DetectionEngine(BUILTIN_RULES, decode_and_rescan=True)
    encoded = base64.b64encode(f"card {CARD}".encode()).decode()
    [match] = engine.scan(encoded, "request")
    assert (match.type, match.start, match.end) == ("card", 0, len(encoded))
    percent = quote("rrn=900101-1234568&x=1", safe="")
    assert [m.type for m in engine.scan(percent, "request")] == ["kr_rrn"]


def test_decode_and_rescan_ignores_phone_and_email():
    engine = DetectionEngine(BUILTIN_RULES, decode_and_rescan=True)
    encoded = base64.b64encode(b"mail a.b@example.com 010-1234-5678").decode()
    assert engine.scan(encoded, "request") == []


def test_decode_and_rescan_off_by_default(engine):
    assert engine.scan(base64.b64encode(f"card {CARD}".encode()).decode(), "request") == []


def test_pathological_custom_rule_returns():
    rule = custom_rule("evil", "x", "(a|aa)*b", "g", 0.7)
    assert DetectionEngine([rule]).scan("a" * 100_000, "request") == []


def test_anchored_custom_rule_is_exact_in_batches():
    engine = DetectionEngine([custom_rule("start", "x", "^abc", "g", 0.7)])
    assert [len(r) for r in engine.scan_many(["abc", "xabc", "abc abc"], "request")] == [1, 0, 1]


def test_scanner_matches_join_overlap_resolution():
    def scanner(text, direction):
        from haechi.findings import Match

        index = text.find("secretword")
        if index >= 0:
            yield Match("custom", "scanner", index, index + 10, 0.9, "secretword")

    engine = DetectionEngine(BUILTIN_RULES, scanners=[scanner])
    assert found(engine, "the secretword is a@example.com") == [
        ("custom", "secretword"),
        ("email", "a@example.com"),
    ]


_alphabet = st.sampled_from(
    [
        "a",
        " ",
        "-",
        "\n",
        "+",
        "0",
        "1",
        "4",
        "9",
        "@",
        ".",
        "x",
        "é",
        "한",
        "４",  # noqa: RUF001 - full-width on purpose
        "𝟏",  # noqa: RUF001 - mathematical bold on purpose
        "minji.kim@example.com",
        "010-1234-5678",
        CARD,
        "900101-1234568",
        "sk-ant-api03-abcdefghijklmnop",
        "[REDACTED:email]",
        "password=",
        "AKIAIOSFODNN7EXAMPLE",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(st.lists(_alphabet, max_size=12).map("".join), max_size=8),
    direction=st.sampled_from(["request", "response"]),
)
def test_batch_equals_per_text(engine, texts, direction):
    assert engine.scan_many(texts, direction) == [engine.scan(t, direction) for t in texts]


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=30), max_size=6))
def test_batch_equals_per_text_with_custom_rules(texts):
    engine = DetectionEngine(
        [
            *BUILTIN_RULES,
            custom_rule("neg", "n", "[^a]{3}", "g", 0.5),
            custom_rule("dot", "d", "x.y", "gs", 0.5),
        ]
    )
    assert engine.scan_many(texts, "request") == [engine.scan(t, "request") for t in texts]
