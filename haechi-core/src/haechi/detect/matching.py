"""Running a set of rules over many texts with as few RE2 passes as possible.

A :class:`RulePlan` scans a batch of texts in three steps:

1. **Locate.** The texts are joined with ``\\n`` into one UTF-8 buffer and scanned once
   with a single RE2 alternation of every rule. A text that no located match touches
   cannot hold a match of any rule (see :meth:`RulePlan.locate`), so most
   texts of a typical payload are done after this one linear pass.
   The locator also gives each such text its *first located offset*, before which no
   rule matches in it (proof at :meth:`RulePlan.locate`).
2. **Select.** Each remaining text, from its first located offset on, is run through an
   ``re2.Set`` of the rules, which names the rules that match somewhere in it.
3. **Extract.** Only those rules run over that text, from the same offset, with
   JavaScript's ``lastIndex`` semantics, and validators see each matched value.

RE2 is called through the extension objects under the ``re2`` wrapper (``re2._re2``):
the wrapper's ``search``/``finditer`` build a generator and a match object per call, a
few microseconds that dominated scanning short texts. :func:`raw_regex` keeps the
wrapper's compile (its pattern check and error) and hands back the compiled object.

Offsets are byte offsets until the end, where non-ASCII texts are converted to
code-point offsets in one forward pass.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

import attrs
import re2
from re2 import _re2

from haechi.detect.rules import Rule

__all__ = [
    "UNANCHORED",
    "Candidate",
    "CompiledRule",
    "RulePlan",
    "raw_regex",
    "resolve_overlaps",
    "to_code_points",
]

SEPARATOR = b"\n"
UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_MAX_MEM = 64 << 20
#: Longest rejected match (bytes) retried with shorter ends; every built-in validated shape
#: is shorter than this.
_MAX_RETRY_SPAN = 64


def _options(*, never_capture: bool = False) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEM
    options.never_capture = never_capture
    return options


def raw_regex(pattern: str, *, never_capture: bool = False) -> _re2.RE2:
    """``pattern`` compiled for bytes. Its ``Match(anchor, data, pos, endpos)`` returns
    the (start, end) span of every group, ``(-1, -1)`` for no match, exactly what the
    wrapper's ``search(data, pos, endpos)`` wraps for ``0 <= pos <= endpos <= len``."""
    return re2.compile(pattern.encode(), _options(never_capture=never_capture))._regexp


@attrs.frozen(slots=True)
class Candidate:
    """A validated match of one rule, before overlap resolution (code-point offsets)."""

    start: int
    end: int
    order: int
    rule_id: str
    type: str
    confidence: float


def _strip_escapes_and_negations(pattern: str) -> str:
    return pattern.replace("\\\\", "").replace("\\^", "").replace("\\$", "").replace("[^", "[")


def _has_anchor(pattern: str) -> bool:
    text = _strip_escapes_and_negations(pattern)
    return any(token in text for token in ("^", "$", "\\A", "\\z", "\\Z"))


#: How :meth:`Rule.compiled_pattern` opens a rule with ``not_preceded_by``: the start of
#: the text or one character outside the class.
_LOOK_BEHIND_OPENING = "(?:\\A|[^"


class CompiledRule:
    """One rule compiled for bytes; :meth:`find` returns validated byte spans."""

    __slots__ = ("_past_text_start", "_regex", "joinable", "order", "pattern", "rule")

    def __init__(self, rule: Rule, order: int):
        self.rule = rule
        self.order = order
        self.pattern = rule.compiled_pattern()
        self._regex = raw_regex(self.pattern)
        self._past_text_start = self._regex
        if rule.has_look_behind:
            if not self.pattern.startswith(_LOOK_BEHIND_OPENING):
                raise ValueError(f"rule {rule.id}: unexpected compiled look-behind")
            # The same rule without the start-of-text alternative: every match it finds
            # consumes a look-behind character, so none starts at offset 0.
            past_start = "(?:[^" + self.pattern[len(_LOOK_BEHIND_OPENING):]
            self._past_text_start = raw_regex(past_start)
        self.joinable = self._joinable()

    def _joinable(self) -> bool:
        """Whether scanning texts joined by ``\\n`` finds at least this rule's matches.

        True unless the rule anchors to the start or end of the text (``^``/``$`` without
        the ``m`` flag, ``\\A``, ``\\z``) or one of its context classes rejects ``\\n``.
        """
        rule = self.rule
        if _has_anchor(rule.prefix) or (not rule.multiline and _has_anchor(rule.pattern)):
            return False
        for body in (rule.not_preceded_by, rule.not_followed_by):
            if body and re2.compile(f"[^{body}]".encode(), _options()).fullmatch(SEPARATOR) is None:
                return False
        return True

    def find(self, data: bytes, pos: int = 0) -> list[tuple[int, int]]:
        """Byte spans of this rule's matches in ``data``, validator applied. ``pos`` is
        where the search starts: an offset before which no match of the rule starts
        (its look-behind character included), so the result equals searching from 0.

        Like JavaScript's ``lastIndex`` loop, accepted matches of one rule never overlap.
        Unlike it, a match its validator rejects does not hide a valid one inside it:
        ``order 12 4111 1111 1111 1111`` first matches all 18 digits (Luhn fails), and the
        reference then moves past the card. Here a rejected match is retried with shorter
        ends from the same start, then the search resumes one character after its start.

        A rejected match at offset 0 of a rule with a look-behind matched through the
        start-of-text alternative. Searching again from 0 would find it again (forever),
        so from then on the rule is searched without that alternative, which finds the
        matches starting after offset 0 and nothing else.
        """
        spans: list[tuple[int, int]] = []
        validator = self.rule.validator
        back = 1 if self.rule.has_look_behind else 0
        match = self._regex.Match
        size = len(data)
        next_start = 0
        while pos <= size:
            spans_found = match(UNANCHORED, data, pos, size)
            start, end = spans_found[1]  # group 1 is not optional: -1 means no match
            if start < 0:
                break
            if end == start or start < next_start:
                pos = _next_char(data, spans_found[0][0])
                continue
            if validator is not None and not self._valid(data, start, end):
                end = self._shorter_valid_end(data, start, end, back)
                if end is None:
                    if start == 0:
                        match = self._past_text_start.Match
                    pos = _next_char(data, start) - back
                    continue
            spans.append((start, end))
            next_start = end
            pos = end - back  # the character before the next match is its context
        return spans

    def _valid(self, data: bytes, start: int, end: int) -> bool:
        return self.rule.validator(data[start:end].decode("utf-8", "replace"))

    def _shorter_valid_end(self, data: bytes, start: int, end: int, back: int) -> int | None:
        """The longest ``shorter`` in ``(start, end)`` such that searching from ``start``
        (its look-behind character included) with the text cut at ``shorter + 1`` finds
        this rule's match at exactly ``[start, shorter)``, and the validator accepts it.
        Only short spans are retried (validated rules match bounded shapes).

        One search settles a range of cuts. RE2 evaluates ``\\b``, ``\\z`` and the like
        at the cut against the whole text, so cutting earlier only removes ways to
        match, never adds one; and leftmost-first search returns the first way, in
        priority order, that fits. So the match *R* found with the cut at ``shorter + 1``
        is also what every cut from *R*'s end up to ``shorter + 1`` finds: of those
        cuts, only the one at *R*'s reported end can qualify, and the next cut worth a
        search is the one just before *R*'s end.
        """
        if end - start > _MAX_RETRY_SPAN:
            return None
        match = self._regex.Match
        low = max(start - back, 0)
        shorter = end - 1
        while shorter > start:
            spans = match(UNANCHORED, data, low, shorter + 1)
            found_end = spans[0][1]
            if found_end < 0:
                return None  # a shorter cut cannot find a match either
            found_start, reported_end = spans[1]
            if (
                found_start == start
                and max(start + 1, found_end - 1) <= reported_end <= shorter
                and self._valid(data, start, reported_end)
            ):
                return reported_end
            shorter = found_end - 2
        return None


def _next_char(data: bytes, pos: int) -> int:
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def _count_code_points(segment: bytes) -> int:
    try:
        return len(segment.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:  # a match edge inside an odd sequence: count lead bytes
        return sum(1 for byte in segment if byte & 0xC0 != 0x80)


def to_code_points(data: bytes, offsets: list[int]) -> dict[int, int]:
    """Map byte offsets (at character boundaries) of UTF-8 ``data`` to code-point offsets."""
    mapping: dict[int, int] = {}
    previous_byte = 0
    previous_point = 0
    for offset in sorted(set(offsets)):
        previous_point += _count_code_points(data[previous_byte:offset])
        previous_byte = offset
        mapping[offset] = previous_point
    return mapping


class RulePlan:
    """A fixed, ordered rule set compiled into a locator, a selector and extractors."""

    def __init__(self, rules: Sequence[Rule], first_order: int = 0):
        self.rules = tuple(CompiledRule(rule, first_order + i) for i, rule in enumerate(rules))
        joinable = [r for r in self.rules if r.joinable]
        self._scan_every_text = len(joinable) != len(self.rules)
        self._locator = (
            raw_regex("|".join(f"(?:{r.pattern})" for r in joinable), never_capture=True)
            if joinable
            else None
        )
        self._select: Callable[[bytes], list[int]] | None = None
        if self.rules:
            selector = re2.Set.SearchSet(_options(never_capture=True))
            for rule in self.rules:
                selector.Add(rule.pattern.encode())
            selector.Compile()
            # The compiled set under the wrapper: Match(data) -> indexes of the rules
            # that match somewhere in data (an empty list for none).
            self._select = selector._set.Match

    def locate(self, buffer: bytes, starts: Sequence[int]) -> dict[int, int]:
        """The texts that may hold a match of some rule, each with its first located
        offset: a byte offset in the text before which no match of any rule starts (the
        look-behind character included). ``buffer`` is the texts' UTF-8 joined by
        ``\\n``; ``starts[i]`` is text *i*'s offset in it. Texts are in index order.

        The locator (the alternation of every rule) is searched leftmost-first. A located
        match marks every text it overlaps and the text holding the byte at its end
        offset (plus one when it is empty); its start, clamped to the text, is the first
        located offset of each text it is the first to mark. The search then resumes at
        the separator before the first text it did not mark: later matches in a marked
        text would tell nothing new.

        Sound because every rule is joinable: in the joined buffer, each text is
        surrounded by ``\\n`` (or the buffer's ends), which satisfies every context the
        rule's isolated match relied on; so a match of a rule at offset *q* of text *m*
        is a match of the alternation at some buffer offset *b*: ``starts[m] + q``, or,
        when *q* = 0 was matched through ``\\A``, ``starts[m] - 1`` (the ``\\n`` before
        the text stands in for it; for the first text, the buffer's own start). Let *K*
        be the last located match starting at or before *b* (the first search starts
        at 0, so there is one). Had the search resumed at or before *b* after *K*, it
        would have located another match starting at or before *b*; so it resumed
        after *b*, or never did because *K* reaches the last text. Resuming after *b*
        means *K*'s end (plus one when empty) is after *b*, or *b* is before the
        separator ahead of the first text *K* does not mark. Either way *K*, which
        starts at or before *b*, marks every text from its start's to *m*. So *m* is
        marked, and by a first match starting at or before *b*: its first located
        offset is at most *q*.
        """
        if self._scan_every_text:
            return dict.fromkeys(range(len(starts)), 0)
        if self._locator is None:
            return {}
        match = self._locator.Match
        size = len(buffer)
        count = len(starts)
        bisect_right = bisect.bisect_right
        first_offsets: dict[int, int] = {}
        pos = 0
        while pos <= size:
            start, end = match(UNANCHORED, buffer, pos, size)[0]
            if start < 0:
                break
            unmarked = bisect_right(starts, end if end > start else end + 1)
            for index in range(max(bisect_right(starts, start) - 1, 0), unmarked):
                if index not in first_offsets:
                    first_offsets[index] = max(start - starts[index], 0)
            if unmarked == count:
                break
            pos = starts[unmarked] - 1
        return first_offsets

    def scan_text(self, data: bytes, first: int = 0) -> list[Candidate]:
        """Validated candidates of every rule in one text, given as UTF-8 ``data``.
        ``first`` is a byte offset before which no rule's match starts (see
        :meth:`locate`); both the selection and the rules' searches start there."""
        if self._select is None:
            return []
        # One byte more than the window keeps the context of a match at ``first`` (its
        # ``\b``, ``^`` in multiline mode); a match that the cut makes possible at the
        # window's start only adds a rule to try, never hides one.
        window = data[first - 1 :] if first else data
        fired = self._select(window)
        if not fired:
            return []
        rules = self.rules
        found = [(rules[index], rules[index].find(data, first)) for index in fired]
        if not data.isascii():
            offsets = [offset for _, spans in found for span in spans for offset in span]
            mapping = to_code_points(data, offsets)
            found = [(rule, [(mapping[s], mapping[e]) for s, e in spans]) for rule, spans in found]
        return [
            Candidate(start, end, compiled.order, rule.id, rule.type, rule.confidence)
            for compiled, spans in found
            for rule in (compiled.rule,)
            for start, end in spans
        ]


def resolve_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    """Start ascending, longer first, earlier rule first; keep greedily without overlap."""
    candidates.sort(key=lambda c: (c.start, c.start - c.end, c.order))
    kept: list[Candidate] = []
    reached = -1
    for candidate in candidates:
        if candidate.start >= reached:
            kept.append(candidate)
            reached = candidate.end
    return kept
