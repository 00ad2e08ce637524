"""The rule plan's shortcuts (one located pass, the selector window, searches from the first
located offset, one search per range of retried ends) against a plain oracle: every rule
searched over every text on its own from offset 0, each rejected match retried at every
shorter end."""

from __future__ import annotations

import re2
from haechi.detect import Rule, custom_rule
from haechi.detect.builtin import BUILTIN_RULES
from haechi.detect.matching import RulePlan
from hypothesis import given, settings
from hypothesis import strategies as st

_EXTRA_RULES = (
    custom_rule("maybe-empty", "e", "q*", "g", 0.5),
    custom_rule("inside-word", "w", "\\Bzz\\B", "g", 0.5),
    custom_rule("line-start", "l", "^k+", "gm", 0.5),
    Rule(
        id="odd-digits",
        type="odd",
        pattern=r"\d{3,9}(?:\.\d{1,3})?",
        confidence=0.5,
        validator=lambda value: "." not in value and len(value) % 2 == 1 and value[-1] != "4",
        not_preceded_by=r"\w",
        not_followed_by=r"\w",
    ),
)
PLANS = (
    RulePlan([r for r in BUILTIN_RULES if not r.response_only]),
    RulePlan([*BUILTIN_RULES, *_EXTRA_RULES]),
)
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


def _oracle_find(pattern: str, rule: Rule, data: bytes) -> list[tuple[int, int]]:
    """The rule's spans by the plain loop: search from 0, on a rejected match try every
    shorter end, resume one character after a rejected start."""
    regex = re2.compile(pattern.encode(), _OPTIONS)
    past_start = None
    if rule.has_look_behind:
        past_start = re2.compile(("(?:[^" + pattern[len("(?:\\A|[^") :]).encode(), _OPTIONS)
    back = 1 if rule.has_look_behind else 0

    def valid(start: int, end: int) -> bool:
        return rule.validator(data[start:end].decode("utf-8", "replace"))

    def next_char(pos: int) -> int:
        pos += 1
        while pos < len(data) and data[pos] & 0xC0 == 0x80:
            pos += 1
        return pos

    spans: list[tuple[int, int]] = []
    pos = next_start = 0
    while pos <= len(data):
        found = regex.search(data, pos)
        if found is None:
            break
        start, end = found.span(1)
        if end == start or start < next_start:
            pos = next_char(found.start())
            continue
        if rule.validator is not None and not valid(start, end):
            shorter_end = None
            if end - start <= 64:
                for shorter in range(end - 1, start, -1):
                    again = regex.search(data, max(start - back, 0), shorter + 1)
                    if again is not None and again.span(1) == (start, shorter) and valid(
                        start, shorter
                    ):
                        shorter_end = shorter
                        break
            if shorter_end is None:
                if start == 0 and past_start is not None:
                    regex = past_start
                pos = next_char(start) - back
                continue
            end = shorter_end
        spans.append((start, end))
        next_start = end
        pos = end - back
    return spans


def _oracle(plan: RulePlan, data: bytes) -> list[tuple[int, int, int]]:
    return sorted(
        (start, end, compiled.order)
        for compiled in plan.rules
        for start, end in _oracle_find(compiled.pattern, compiled.rule, data)
    )


def _planned(plan: RulePlan, texts: list[str]) -> list[list[tuple[int, int, int]]]:
    encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
    starts, offset = [], 0
    for data in encoded:
        starts.append(offset)
        offset += len(data) + 1
    located = plan.locate(b"\n".join(encoded), starts)
    results: list[list[tuple[int, int, int]]] = [[] for _ in texts]
    for index, first in located.items():
        text = texts[index]
        # compare byte spans: the candidates' offsets are code points
        results[index] = sorted(
            (len(text[: c.start].encode()), len(text[: c.end].encode()), c.order)
            for c in plan.scan_text(encoded[index], first)
        )
    return results


_pieces = st.sampled_from(
    [
        "a", " ", "-", "\n", "+", "0", "1", "4", "9", "@", ".", "x", "q", "z", "k", "é", "한",
        "2024-05-01", "4111 1111 1111 1111", "4111111111111112", "010-1234-5678",
        "minji.kim@example.com", "GB82WEST12345698765432", "123-45-6789", "1714564800",
        "123456789012", "12345.6", "[REDACTED:email]", "password=", "AKIAIOSFODNN7EXAMPLE",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.lists(_pieces, max_size=14).map("".join), min_size=1, max_size=8),
    plan_index=st.sampled_from([0, 1]),
)
def test_plan_equals_every_rule_on_every_text(texts, plan_index):
    plan = PLANS[plan_index]
    expected = [_oracle(plan, text.encode()) for text in texts]
    assert _planned(plan, texts) == expected


def test_first_located_offset_never_skips_a_match():
    # the look-behind of a phone at the start of the second text is the separator
    plan = PLANS[0]
    texts = ["note", "010-1234-5678 and minji.kim@example.com", "x 2024-05-01 2024-05-01"]
    assert _planned(plan, texts) == [_oracle(plan, t.encode()) for t in texts]


def test_rejected_long_shapes_still_yield_the_valid_card_inside():
    plan = PLANS[0]
    texts = ["order 12 4111 1111 1111 1111", "4111 1111 1111 1111 5", "4111-1111-1111-1111-12"]
    expected = [_oracle(plan, text.encode()) for text in texts]
    assert all(expected)  # the card is found in each
    assert _planned(plan, texts) == expected


def test_rejected_shape_retried_before_its_look_ahead_character():
    plan = PLANS[1]
    texts = ["12345.6 ", "v 12345.678", "1234.5"]
    expected = [_oracle(plan, text.encode()) for text in texts]
    assert any(order == len(plan.rules) - 1 for hits in expected for _, _, order in hits)
    assert _planned(plan, texts) == expected
