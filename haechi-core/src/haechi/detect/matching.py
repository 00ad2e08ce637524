"""Running a set of rules over many texts with as few RE2 passes as possible.

A :class:`RulePlan` scans a batch of texts in three steps:

1. **Locate.** The texts are joined with ``\\n`` into one UTF-8 buffer and scanned once
   with a single RE2 alternation of every rule. A text that no located match touches
   cannot hold a match of any rule (see :meth:`RulePlan.candidate_texts`), so most
   texts of a typical payload are done after this one linear pass.
2. **Select.** Each remaining text is run through an ``re2.Set`` of the rules, which
   names the rules that match somewhere in it.
3. **Extract.** Only those rules run over that text, with JavaScript's ``lastIndex``
   semantics, and validators see each matched value.

Offsets are byte offsets until the end, where non-ASCII texts are converted to
code-point offsets in one forward pass.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import attrs
import re2

from haechi.detect.rules import Rule

__all__ = ["Candidate", "CompiledRule", "RulePlan", "resolve_overlaps"]

SEPARATOR = b"\n"
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
        self._regex = re2.compile(self.pattern.encode(), _options())
        self._past_text_start = self._regex
        if rule.has_look_behind:
            if not self.pattern.startswith(_LOOK_BEHIND_OPENING):
                raise ValueError(f"rule {rule.id}: unexpected compiled look-behind")
            # The same rule without the start-of-text alternative: every match it finds
            # consumes a look-behind character, so none starts at offset 0.
            past_start = "(?:[^" + self.pattern[len(_LOOK_BEHIND_OPENING):]
            self._past_text_start = re2.compile(past_start.encode(), _options())
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

    def find(self, data: bytes) -> list[tuple[int, int]]:
        """Byte spans of this rule's matches in ``data``, validator applied.

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
        regex = self._regex
        size = len(data)
        pos = 0
        next_start = 0
        while pos <= size:
            found = regex.search(data, pos)
            if found is None:
                break
            start, end = found.span(1)
            if end == start or start < next_start:
                pos = _next_char(data, found.start())
                continue
            if validator is not None and not self._valid(data, start, end):
                end = self._shorter_valid_end(data, start, end, back)
                if end is None:
                    if start == 0:
                        regex = self._past_text_start
                    pos = _next_char(data, start) - back
                    continue
            spans.append((start, end))
            next_start = end
            pos = end - back  # the character before the next match is its context
        return spans

    def _valid(self, data: bytes, start: int, end: int) -> bool:
        return self.rule.validator(data[start:end].decode("utf-8", "replace"))

    def _shorter_valid_end(self, data: bytes, start: int, end: int, back: int) -> int | None:
        """The longest end before ``end`` at which the rule also matches from ``start``
        and the validator accepts. Only short spans are retried (validated rules match
        bounded shapes), so the extra work per rejected match stays small."""
        if end - start > _MAX_RETRY_SPAN:
            return None
        for shorter in range(end - 1, start, -1):
            found = self._regex.search(data, start - back, min(shorter + 1, len(data)))
            if found is not None and found.span(1) == (start, shorter) and self._valid(
                data, start, shorter
            ):
                return shorter
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


def _to_code_points(data: bytes, offsets: list[int]) -> dict[int, int]:
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
            re2.compile(
                "|".join(f"(?:{r.pattern})" for r in joinable).encode(),
                _options(never_capture=True),
            )
            if joinable
            else None
        )
        self._selector: re2.Set | None = None
        if self.rules:
            selector = re2.Set.SearchSet(_options(never_capture=True))
            for rule in self.rules:
                selector.Add(rule.pattern.encode())
            selector.Compile()
            self._selector = selector

    def candidate_texts(self, buffer: bytes, starts: Sequence[int]) -> list[int]:
        """Indexes of the texts that may hold a match of some rule. ``buffer`` is the
        texts' UTF-8 joined by ``\n``; ``starts[i]`` is text *i*'s offset in it.

        Sound because every rule is joinable: in the joined buffer, each text is
        surrounded by ``\\n`` (or the buffer's ends), which satisfies every context the
        rule's isolated match relied on. So a rule's match inside text *j* is also a
        match of the alternation in the buffer, and leftmost-first scanning either
        returns a match overlapping text *j* or one that started earlier and runs into
        it; both mark *j*. One more case: a located match may have consumed the
        character after it as context, which a match starting right at its end needed
        as its own context, so the text holding the byte at the end offset is marked too.
        """
        if self._scan_every_text:
            return list(range(len(starts)))
        if self._locator is None:
            return []
        marked: set[int] = set()
        for found in self._locator.finditer(buffer):
            start, end = found.span()
            first = bisect.bisect_right(starts, start) - 1
            last = bisect.bisect_right(starts, end) - 1
            marked.update(range(max(first, 0), last + 1))
        return sorted(marked)

    def scan_text(self, text: str, data: bytes) -> list[Candidate]:
        """Validated candidates of every rule in one text (``data`` is ``text`` in UTF-8)."""
        if self._selector is None:
            return []
        fired = sorted(self._selector.Match(data) or ())
        if not fired:
            return []
        found: list[tuple[int, int, CompiledRule]] = []
        for index in fired:
            rule = self.rules[index]
            found.extend((start, end, rule) for start, end in rule.find(data))
        if not found:
            return []
        if text.isascii():
            return [_candidate(start, end, rule) for start, end, rule in found]
        mapping = _to_code_points(data, [o for s, e, _ in found for o in (s, e)])
        return [_candidate(mapping[start], mapping[end], rule) for start, end, rule in found]


def _candidate(start: int, end: int, compiled: CompiledRule) -> Candidate:
    rule = compiled.rule
    return Candidate(start, end, compiled.order, rule.id, rule.type, rule.confidence)


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
