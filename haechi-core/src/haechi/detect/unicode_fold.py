"""NFKC evasion handling (spec §3): decide how a text's normalization relates to it."""

from __future__ import annotations

import enum
import unicodedata

__all__ = ["Fold", "fold"]


class Fold(enum.Enum):
    """How the scanned text relates to the original text."""

    #: NFKC changes nothing; offsets and values come from the original directly.
    UNCHANGED = "unchanged"
    #: Every code point folds to exactly one code point, so offsets carry over.
    POSITION_STABLE = "position-stable"
    #: Anything else: a hit covers the whole original text (fail closed).
    WHOLE_TEXT = "whole-text"


def fold(text: str) -> tuple[str, Fold]:
    """Return the text to scan and how offsets found in it map back to ``text``.

    The reference calls a fold position-stable when each code point folds to the same
    number of UTF-16 units (so mathematical-bold digits, astral characters folding to
    ASCII, are not). Offsets here are code points, so the fold must also map one code
    point to one code point; a fold that keeps UTF-16 length but not the code-point
    count (an astral character to two BMP ones) falls to the whole-text case, the
    stricter outcome.
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text, Fold.UNCHANGED
    normalized = unicodedata.normalize("NFKC", text)
    if len(normalized) == len(text):
        per_point = [unicodedata.normalize("NFKC", ch) for ch in text]
        if (
            all(
                len(p) == 1 and (ord(p) > 0xFFFF) == (ord(ch) > 0xFFFF)
                for ch, p in zip(text, per_point, strict=True)
            )
            and "".join(per_point) == normalized
        ):
            return normalized, Fold.POSITION_STABLE
    return normalized, Fold.WHOLE_TEXT
