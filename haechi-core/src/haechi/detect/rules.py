"""The regular-expression rule: the public way to add a detector.

RE2 (the engine every rule is compiled into) runs in linear time but has no look-arounds,
so a rule states its context with three plain fields instead of ``(?<!...)``/``(?!...)``/
``(?<=...)``. :meth:`Rule.compiled_pattern` turns them into one RE2 pattern whose first
group is the part that is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["Rule"]


def _check_confidence(instance: Rule, attribute: attrs.Attribute, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"rule {instance.id}: confidence must be within [0, 1]")


@attrs.frozen(slots=True)
class Rule:
    """One detection rule: an RE2 pattern, an optional validator and its context.

    A plugin author writes rules by hand and returns them from a detector's ``rules()``::

        Rule(
            id="acme-employee-id",
            type="employee_id",
            pattern=r"EMP-\\d{6}",
            confidence=0.9,
            not_preceded_by=r"\\w-",
            not_followed_by=r"\\w-",
        )

    Fields:

    ``id``, ``type``, ``confidence``
        The rule id and detected type reported with every match; confidence in [0, 1].
    ``pattern``
        RE2 syntax (no look-arounds, no backreferences). ``\\b``, ``\\w`` and ``\\d`` are
        ASCII, as in JavaScript regexes without the ``u`` flag. Groups may be used freely;
        the whole pattern is what is reported.
    ``validator``
        Called with each matched text; the match is kept only when it returns True.
    ``response_only``
        Run the rule on the response direction only (prompt-injection rules).
    ``ignore_case``, ``multiline``, ``dot_all``
        The JavaScript ``i``, ``m`` and ``s`` flags, scoped to ``pattern``.
    ``not_preceded_by`` / ``not_followed_by``
        The body of a character class (``r"\\w+-"``) that must not touch the match on
        that side; the start or end of the text always qualifies. This stands in for a
        one-character negative look-behind/look-ahead.
    ``prefix``
        An RE2 pattern that must come right before the match and is not part of it (a
        positive look-behind). ``not_preceded_by`` then applies before the prefix.

    Matching follows JavaScript's ``lastIndex`` loop: after a match, the search
    continues at its end, so matches of one rule never overlap. A zero-length match is
    never reported.
    """

    id: str
    type: str
    pattern: str
    confidence: float = attrs.field(validator=_check_confidence)
    validator: Callable[[str], bool] | None = attrs.field(default=None, eq=False)
    response_only: bool = False
    ignore_case: bool = False
    multiline: bool = False
    dot_all: bool = False
    not_preceded_by: str = ""
    not_followed_by: str = ""
    prefix: str = ""

    @property
    def has_look_behind(self) -> bool:
        """True when the compiled pattern consumes one character before the match."""
        return bool(self.not_preceded_by)

    def compiled_pattern(self) -> str:
        """The RE2 pattern for this rule; group 1 is the reported match."""
        flags = "".join(
            flag
            for flag, wanted in (
                ("i", self.ignore_case),
                ("m", self.multiline),
                ("s", self.dot_all),
            )
            if wanted
        )
        core = f"(?{flags}:{self.pattern})" if flags else f"(?:{self.pattern})"
        before = f"(?:\\A|[^{self.not_preceded_by}])" if self.not_preceded_by else ""
        prefix = f"(?:{self.prefix})" if self.prefix else ""
        after = f"(?:[^{self.not_followed_by}]|\\z)" if self.not_followed_by else ""
        return f"{before}{prefix}({core}){after}"
