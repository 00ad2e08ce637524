"""Operator-written rules from ``filters.customRules``.

The reference screens custom patterns for catastrophic backtracking (§3). RE2 cannot
backtrack, so the screen is kept for compatibility (a config the reference rejects is
rejected here too) and one check is added: the pattern must compile under RE2, which
rules out look-arounds. Messages give the pattern's length, never its text.
"""

from __future__ import annotations

import re

import re2

from haechi.detect.rules import Rule

__all__ = ["MAX_CUSTOM_PATTERN_LENGTH", "check_custom_rule", "custom_rule"]

MAX_CUSTOM_PATTERN_LENGTH = 500

_ALLOWED_FLAGS = frozenset("dgimsuvy")
# A group whose body holds + or * and which is itself quantified: (a+)+, (a*)*, (a|b+){2}.
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*][^)]*\)[+*{]")
_BACKREFERENCE = re.compile(r"\\[1-9]")


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


def check_custom_rule(pattern: str, flags: str) -> str | None:
    """Screen one custom rule. Returns a one-line problem, or None when it is acceptable."""
    if len(pattern) > MAX_CUSTOM_PATTERN_LENGTH:
        return (
            f"pattern is {len(pattern)} characters long; the limit is {MAX_CUSTOM_PATTERN_LENGTH}"
        )
    if _NESTED_QUANTIFIER.search(pattern):
        return "pattern has a nested quantifier (a quantified group containing + or *)"
    if _BACKREFERENCE.search(pattern):
        return "pattern uses a backreference (\\1-\\9)"
    unknown = sorted(set(flags) - _ALLOWED_FLAGS)
    if unknown:
        return f"flags may only contain d, g, i, m, s, u, v, y (got {''.join(unknown)!r})"
    try:
        re2.compile(_flagged(pattern, flags), _re2_options())
    except re2.error:
        return (
            f"pattern ({len(pattern)} characters) does not compile under RE2 "
            "(look-arounds and backreferences are not supported)"
        )
    return None


def _flagged(pattern: str, flags: str) -> str:
    inline = "".join(flag for flag in "ims" if flag in flags)
    return f"(?{inline}:{pattern})" if inline else pattern


def custom_rule(
    id: str, type: str, pattern: str, flags: str = "g", confidence: float = 0.7
) -> Rule:
    """Build the :class:`Rule` for a screened custom rule (JS flags ``i``, ``m``, ``s``
    honoured, ``g`` implied, no validator). Raises ``ValueError`` when the screen fails."""
    problem = check_custom_rule(pattern, flags)
    if problem is not None:
        raise ValueError(f"custom rule {id}: {problem}")
    return Rule(
        id=id,
        type=type,
        pattern=pattern,
        confidence=confidence,
        ignore_case="i" in flags,
        multiline="m" in flags,
        dot_all="s" in flags,
    )
