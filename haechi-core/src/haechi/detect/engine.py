"""The detection engine (spec §3): rules, scanners, overlaps, NFKC, markers, decoding.

Per text, in order: fold with NFKC; collect the validated matches of every rule and
every scanner on the folded text; on the response direction, drop matches inside
genuine Haechi markers (and report what a fake marker hides); resolve overlaps; map back
to the original text (exact span, or one whole-text match per type when the fold is not
position-stable); finally, when enabled, decode-and-rescan.

:meth:`DetectionEngine.scan_many` is the batch entry point: the regex work for all
texts of a document is done together (see :mod:`haechi.detect.matching`), and the
results equal calling :meth:`DetectionEngine.scan` on each text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, repeat
from operator import add

from haechi.detect.decoding import decode_for_rescan
from haechi.detect.markers import MARKER_OPENING, find_markers, may_hold_markers
from haechi.detect.matching import Candidate, RulePlan, resolve_overlaps
from haechi.detect.rules import Rule
from haechi.detect.unicode_fold import Fold, fold
from haechi.findings import HARD_BLOCK_TYPES, Direction, Match

__all__ = ["DetectionEngine", "Scanner"]

#: Marker inner texts whose detections are remembered (the cache is emptied when full).
_INNER_CACHE_SIZE = 4096

#: A detector's non-regex ``scan(text, direction)``; offsets are code points of ``text``.
Scanner = Callable[[str, str], Iterable[Match]]


def _rescannable(rule: Rule) -> bool:
    """Decoded text may only fire hard-block types and validator-backed ones but phone."""
    if rule.response_only:
        return False
    return rule.type in HARD_BLOCK_TYPES or (rule.validator is not None and rule.type != "phone")


class DetectionEngine:
    """Scan texts with a fixed rule list (built-ins first, then custom) and scanners."""

    def __init__(
        self,
        rules: Sequence[Rule],
        scanners: Sequence[Scanner] = (),
        *,
        decode_and_rescan: bool = False,
        token_known: Callable[[str], bool] | None = None,
    ):
        self._rules = tuple(rules)
        self._scanners = tuple(scanners)
        self._decode_and_rescan = decode_and_rescan
        self._token_known = token_known
        self._inner_cache: dict[tuple[str, int], tuple[Candidate, ...]] = {}
        self._plans: dict[str, RulePlan] = {
            "request": RulePlan([r for r in self._rules if not r.response_only]),
            "response": RulePlan(self._rules),
        }
        self._rescan_plan = RulePlan([r for r in self._rules if _rescannable(r)])
        self._scanner_order = len(self._rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def scan(self, text: str, direction: Direction) -> list[Match]:
        """Detections in one text, in start order (whole-text ones in type order)."""
        return self.scan_many((text,), direction)[0]

    def scan_many(self, texts: Sequence[str], direction: Direction) -> list[list[Match]]:
        """:meth:`scan` for every text, sharing the regex passes between them."""
        if not texts:
            return []
        plan = self._plans[direction]
        joined = "\n".join(texts)
        folds: dict[int, tuple[str, Fold]] = {}
        scan_texts = texts
        if joined.isascii():
            # The usual case: nothing to fold, and byte offsets are code-point offsets.
            buffer = joined.encode("ascii")
            starts = _starts(map(len, texts))
        else:
            # Only non-ASCII texts can need an NFKC fold; the rest are scanned as they are.
            folds = {i: fold(text) for i, text in enumerate(texts) if not text.isascii()}
            scan_texts = list(texts)
            for index, (folded, _) in folds.items():
                scan_texts[index] = folded
            encoded = [text.encode("utf-8", "surrogatepass") for text in scan_texts]
            buffer = b"\n".join(encoded)
            starts = _starts(map(len, encoded))
        last = len(texts) - 1
        candidates_by_text: dict[int, list[Candidate]] = {}
        for index, first in plan.locate(buffer, starts).items():
            # Text *index* runs up to the separator before the next text's start.
            data = buffer[starts[index] : starts[index + 1] - 1 if index < last else None]
            candidates_by_text[index] = plan.scan_text(data, first)
        # Texts that need per-text work beyond the shared regex pass; usually very few.
        todo: Iterable[int] = candidates_by_text.keys()
        if self._scanners or self._decode_and_rescan:
            todo = range(len(texts))
        elif direction == "response" and folds:
            # A fold can make a marker, so the folded texts are checked one by one.
            todo = set(todo) | {i for i, text in enumerate(scan_texts) if may_hold_markers(text)}
        elif direction == "response" and may_hold_markers(joined):
            todo = set(todo) | _texts_with_markers(joined, starts)
        results: list[list[Match]] = [[] for _ in texts]
        for index in sorted(todo):
            text, scan_text = texts[index], scan_texts[index]
            how = folds[index][1] if index in folds else Fold.UNCHANGED
            candidates = candidates_by_text.get(index, [])
            if self._scanners:
                candidates.extend(self._scanner_candidates(scan_text, direction))
            if direction == "response" and may_hold_markers(scan_text):
                candidates = self._apply_markers(scan_text, candidates, plan)
            if candidates:
                results[index] = _place(text, resolve_overlaps(candidates), how)
            if self._decode_and_rescan:
                results[index].extend(self._rescan(text, results[index]))
        return results

    def _scanner_candidates(self, text: str, direction: str) -> list[Candidate]:
        return [
            Candidate(m.start, m.end, self._scanner_order, m.rule_id, m.type, m.confidence)
            for scanner in self._scanners
            for m in scanner(text, direction)
            if 0 <= m.start < m.end <= len(text)
        ]

    def _plain(self, text: str, plan: RulePlan) -> list[Candidate]:
        return plan.scan_text(text.encode("utf-8", "surrogatepass"))

    def _inner_candidates(self, inner: str, plan: RulePlan) -> tuple[Candidate, ...]:
        """Detections in a marker's inner text, memoized: responses repeat the same few
        markers (``[REDACTED:email]``), and the rules never change for an engine."""
        key = (inner, id(plan))
        cached = self._inner_cache.get(key)
        if cached is None:
            if len(self._inner_cache) >= _INNER_CACHE_SIZE:
                self._inner_cache.clear()
            cached = self._inner_cache[key] = tuple(self._plain(inner, plan))
        return cached

    def _apply_markers(
        self, text: str, candidates: list[Candidate], plan: RulePlan
    ) -> list[Candidate]:
        """Skip genuine markers; surface what the inner text of a fake one holds."""
        kept = candidates
        for marker in find_markers(text):
            if marker.is_encryption:
                genuine = marker.envelope_ok
            else:
                hidden = [
                    Candidate(
                        c.start + offset, c.end + offset, c.order, c.rule_id, c.type, c.confidence
                    )
                    for offset, inner in marker.inner_texts
                    for c in self._inner_candidates(inner, plan)
                ]
                genuine = not hidden or (
                    marker.token is not None
                    and self._token_known is not None
                    and self._token_known(marker.token)
                )
                kept = kept + hidden
            if genuine:
                kept = [c for c in kept if c.end <= marker.start or c.start >= marker.end]
        return kept

    def _rescan(self, text: str, found: list[Match]) -> list[Match]:
        decoded = decode_for_rescan(text)
        if decoded is None:
            return []
        scan_text, _ = fold(decoded)
        hits = resolve_overlaps(self._plain(scan_text, self._rescan_plan))
        whole = {m.type for m in found if m.start == 0 and m.end == len(text)}
        return [m for m in _whole_text(text, hits) if m.type not in whole]


def _starts(lengths: Iterable[int]) -> list[int]:
    """Each text's offset in the texts joined by one separator, from their lengths."""
    return [0, *accumulate(map(add, lengths, repeat(1)))][:-1]


def _texts_with_markers(joined: str, starts: Sequence[int]) -> set[int]:
    """The indexes of the texts in ``joined`` (ASCII texts joined by ``\\n``, text *i*
    starting at ``starts[i]``) that hold a marker opening. An opening has no ``\\n``, so
    it lies inside one text."""
    return {bisect_right(starts, found.start()) - 1 for found in MARKER_OPENING.finditer(joined)}


def _place(text: str, kept: list[Candidate], how: Fold) -> list[Match]:
    if how is Fold.WHOLE_TEXT:
        return _whole_text(text, kept)
    return [
        Match(c.type, c.rule_id, c.start, c.end, c.confidence, text[c.start : c.end]) for c in kept
    ]


def _whole_text(text: str, kept: list[Candidate]) -> list[Match]:
    """One match per detected type covering all of ``text`` (fail closed)."""
    first_by_type: dict[str, Candidate] = {}
    for candidate in kept:
        first_by_type.setdefault(candidate.type, candidate)
    return [
        Match(c.type, c.rule_id, 0, len(text), c.confidence, text) for c in first_by_type.values()
    ]
