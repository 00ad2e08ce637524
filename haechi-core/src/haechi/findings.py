"""Value types shared by the detection engine, the pipeline and the actions."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["HARD_BLOCK_TYPES", "Direction", "Finding", "LeafKind", "Match"]

Direction = Literal["request", "response"]
LeafKind = Literal["value", "number", "key"]

#: Types that the allowlist and ``filters.minConfidence`` can never suppress.
HARD_BLOCK_TYPES = frozenset(
    {"secret", "api_key", "kr_rrn", "card", "fr_nir", "es_dni", "it_codice_fiscale", "sg_nric"}
)


@attrs.frozen(slots=True)
class Match:
    """One detection inside one text, as the engine reports it.

    ``start``/``end`` are code-point offsets into the original text; ``value`` is the
    original slice (for a whole-leaf fallback, the whole text). ``value`` is sensitive:
    it must never reach a log line, an audit event or an exception message.
    """

    type: str
    rule_id: str
    start: int
    end: int
    confidence: float
    value: str = attrs.field(repr=False)


@attrs.frozen(slots=True)
class Finding:
    """A :class:`Match` placed in a JSON document: ``path_text`` is the PII-safe path
    (``key_<shortHash>[0].key_<shortHash>``) and ``kind`` says whether the leaf was a
    string value, a number or an object key."""

    type: str
    rule_id: str
    path_text: str
    kind: LeafKind
    start: int
    end: int
    confidence: float
    value: str = attrs.field(repr=False)

    @classmethod
    def place(cls, match: Match, path_text: str, kind: LeafKind) -> Finding:
        return cls(
            type=match.type,
            rule_id=match.rule_id,
            path_text=path_text,
            kind=kind,
            start=match.start,
            end=match.end,
            confidence=match.confidence,
            value=match.value,
        )
