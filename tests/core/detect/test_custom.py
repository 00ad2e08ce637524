from __future__ import annotations

import pytest
from haechi.detect import DetectionEngine, check_custom_rule, custom_rule


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"EMP-\d{6}", "g"),
        (r"order-[a-z]+", "gi"),
        (r"^line$", "gm"),
        (r"a.b", "s"),
        (r"(ab)+c", ""),
        ("x" * 500, "g"),
    ],
)
def test_acceptable_rules(pattern, flags):
    assert check_custom_rule(pattern, flags) is None


@pytest.mark.parametrize(
    ("pattern", "flags", "fragment"),
    [
        ("x" * 501, "g", "501 characters"),
        (r"(a+)+b", "g", "nested quantifier"),
        (r"(a*)*", "g", "nested quantifier"),
        (r"(a|b+){2,}", "g", "nested quantifier"),
        (r"(a)\1", "g", "backreference"),
        (r"abc", "gx", "flags"),
        (r"(?<=a)b", "g", "does not compile under RE2"),
        (r"a(?!b)", "g", "does not compile under RE2"),
        (r"[unclosed", "g", "does not compile under RE2"),
    ],
)
def test_rejected_rules(pattern, flags, fragment):
    problem = check_custom_rule(pattern, flags)
    assert problem is not None and fragment in problem
    assert "\n" not in problem


def test_problem_never_quotes_the_pattern():
    pattern = "SECRETPATTERN(?<=x)"
    assert "SECRETPATTERN" not in check_custom_rule(pattern, "g")
    long_pattern = "SECRETPATTERN" * 40
    assert "SECRETPATTERN" not in check_custom_rule(long_pattern, "g")


def test_custom_rule_flags_are_honoured():
    insensitive = custom_rule("c1", "code", "abc-[0-9]+", "gi", 0.8)
    engine = DetectionEngine([insensitive])
    [match] = engine.scan("x ABC-12 y", "request")
    assert (match.type, match.rule_id, match.value, match.confidence) == (
        "code",
        "c1",
        "ABC-12",
        0.8,
    )
    assert (
        DetectionEngine([custom_rule("c2", "code", "abc", "g", 0.7)]).scan("ABC", "request") == []
    )


def test_multiline_and_dotall():
    lines = DetectionEngine([custom_rule("m", "t", "^x$", "gm", 0.7)])
    assert [m.start for m in lines.scan("x\ny\nx", "request")] == [0, 4]
    dots = DetectionEngine([custom_rule("s", "t", "a.b", "gs", 0.7)])
    assert [m.value for m in dots.scan("a\nb", "request")] == ["a\nb"]


def test_custom_rule_rejects_unsafe_pattern():
    with pytest.raises(ValueError, match="nested quantifier"):
        custom_rule("bad", "t", "(a+)+", "g", 0.7)


def test_custom_rules_run_after_builtins_on_ties():
    from haechi.detect.builtin import BUILTIN_RULES

    engine = DetectionEngine([*BUILTIN_RULES, custom_rule("mine", "mail", r"\S+@\S+", "g", 0.99)])
    [match] = engine.scan("a@example.com", "request")
    assert match.rule_id == "email"
