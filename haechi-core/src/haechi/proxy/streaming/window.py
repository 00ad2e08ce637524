"""The sliding inspection window of a streamed text (spec section 5).

A sensitive value may arrive in pieces across many frames. The window holds back the
last ``W`` UTF-16 code units of the text seen so far (``W`` is
``streaming.maxMatchBytes``; the reference counts JavaScript string length), and
releases text before that point only once no detection crosses it::

    pending += delta
    commit = max(0, len(pending) - W)
    for each detection d in pending with d.end > commit:
        commit = min(commit, d.start)
    emit protect(pending[:commit]); pending = pending[commit:]

Two refinements over the reference:

- the commit point never cuts a character in two (an astral character counts as two
  units, as in JavaScript, but stays whole);
- the segment is protected (a fresh detection) only when the detection pass found
  something inside it; a segment the pass found clean is emitted as it is. A fresh scan
  of a clean segment can only match an artefact of the cut (``0101234567`` followed by
  ``8`` is not a phone number, its prefix is), so skipping it saves a scan per frame
  without letting a value through.

Memory is bounded: a detection crossing the commit point keeps its start held, but the
held text may never exceed ``max_held`` units; past that the stream is refused
(:class:`WindowOverflow`) rather than buffered without end or released unscanned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["SlidingWindow", "SpanLike", "WindowOverflow", "utf16_length"]


class SpanLike(Protocol):
    """A detection's code-point span (a :class:`haechi.findings.Match` is one)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


class WindowOverflow(Exception):
    """A possible match kept the held text growing past ``max_held``."""


def utf16_length(text: str) -> int:
    """The length JavaScript reports for ``text`` (astral characters count twice)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _tail_start(text: str, units: int) -> int:
    """The code-point index where the last ``units`` UTF-16 units of ``text`` begin,
    moved left rather than into the middle of a surrogate pair (0 when all of it fits)."""
    if text.isascii():
        return max(0, len(text) - units)
    index = len(text)
    held = 0
    while index > 0 and held < units:
        index -= 1
        held += 2 if ord(text[index]) > 0xFFFF else 1
    return index


class SlidingWindow:
    """Holds back the end of a streamed text until it can be inspected whole.

    :param window: ``W`` in UTF-16 code units.
    :param detect: side-effect-free detection on a text (spans only, nothing issued).
    :param protect: protects a text segment and returns a ``ProtectResult``.
    :param on_result: receives every ``ProtectResult`` whose text is released (the
        caller tallies it and stops the stream on a block).
    :param max_held: the most UTF-16 units ever held between two pushes.
    """

    def __init__(
        self,
        *,
        window: int,
        detect: Callable[[str], Sequence[SpanLike]],
        protect: Callable[[str], Any],
        on_result: Callable[[Any], None],
        max_held: int,
    ) -> None:
        self._window = window
        self._detect = detect
        self._protect = protect
        self._on_result = on_result
        self._max_held = max_held
        self._pending = ""

    @property
    def held(self) -> int:
        """UTF-16 units held back right now."""
        return utf16_length(self._pending)

    def push(self, delta: str) -> str:
        """Add streamed text; return the protected text that can be released now."""
        pending = self._pending + delta
        commit = _tail_start(pending, self._window)
        if commit == 0:
            self._pending = pending
            return ""
        spans = self._detect(pending)
        for span in spans:
            if span.end > commit:
                commit = min(commit, span.start)
        held = pending[commit:]
        if utf16_length(held) > self._max_held:
            raise WindowOverflow()
        self._pending = held
        if commit == 0:
            return ""
        segment = pending[:commit]
        if not any(span.end <= commit for span in spans):
            return segment
        return self._release(segment)

    def flush(self) -> str:
        """Release everything held (stream end or end of a text block), protected."""
        tail, self._pending = self._pending, ""
        return self._release(tail) if tail else ""

    def _release(self, text: str) -> str:
        result = self._protect(text)
        self._on_result(result)  # raises on a block, so the payload here is the text
        return result.payload
