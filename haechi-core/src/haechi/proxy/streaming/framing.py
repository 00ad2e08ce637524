"""Cut a byte stream into frames, whatever the chunk boundaries.

Frames are cut on bytes, before any decoding: a separator (``\\n``) never occurs inside
a multi-byte UTF-8 sequence, so a character split across two chunks is whole again
inside its frame. A frame that grows past ``max_frame_bytes`` raises
:class:`FrameTooLarge` instead of being buffered further.
"""

from __future__ import annotations

import re

__all__ = ["FrameTooLarge", "Framer", "LineFramer", "SseFramer"]


class FrameTooLarge(Exception):
    """A frame (or the unterminated rest of the stream) exceeds the frame limit."""


class Framer:
    """Buffers chunks and hands out complete frames (without their separator)."""

    #: The longest separator minus one: how far back a new search must start so a
    #: separator split across two chunks is still found.
    _OVERLAP: int
    _SEPARATOR: re.Pattern[bytes]

    def __init__(self, max_frame_bytes: int) -> None:
        self._max = max_frame_bytes
        self._buffer = bytearray()
        self._searched = 0  # bytes of the buffer known to hold no separator start

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the end of a frame."""
        return len(self._buffer)

    def push(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        frames: list[bytes] = []
        start = 0
        search = self._searched
        while True:
            found = self._SEPARATOR.search(self._buffer, search)
            if found is None:
                break
            frame = bytes(self._buffer[start:found.start()])
            self._check(len(frame))
            frames.append(frame)
            start = search = found.end()
        del self._buffer[:start]
        self._check(len(self._buffer))
        self._searched = max(0, len(self._buffer) - self._OVERLAP)
        return frames

    def rest(self) -> bytes:
        """The unterminated bytes left at the end of the stream (the last frame when the
        upstream did not end it with a separator)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._searched = 0
        return rest

    def _check(self, size: int) -> None:
        if size > self._max:
            raise FrameTooLarge()


class SseFramer(Framer):
    """Server-sent events: a frame ends at a blank line (``\\n\\n``, ``\\r\\n\\r\\n``, or
    the mixed forms)."""

    # No alternative is a prefix of another, so a match is never the start of a longer
    # separator still to arrive.
    _OVERLAP = 3
    _SEPARATOR = re.compile(rb"\r\n\r\n|\r\n\n|\n\r\n|\n\n")


class LineFramer(Framer):
    """JSON lines: a frame ends at ``\\n`` (a trailing ``\\r`` is dropped)."""

    _OVERLAP = 1
    _SEPARATOR = re.compile(rb"\r?\n")
