"""Newline framing of a byte stream with a hard cap on the length of one line.

MCP's stdio transport sends one JSON-RPC message per ``\\n``-terminated line. A peer can
send a line of any length, so the splitter never holds more than ``max_line_bytes`` of
one line: past the cap it reports :data:`OVERSIZE` once, forgets what it held and skips
the rest of that line up to its newline. Memory stays bounded by the cap plus one read
chunk whatever the peer sends (fail closed: an oversize message is never passed on).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_MAX_LINE_BYTES", "OVERSIZE", "LineSplitter", "Oversize"]

#: The default cap on one JSON-RPC line (16 MiB), newline excluded.
DEFAULT_MAX_LINE_BYTES: Final = 16 * 1024 * 1024


class Oversize:
    """Stands for a line that went past the cap (its bytes were discarded)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OVERSIZE"


OVERSIZE: Final = Oversize()


class LineSplitter:
    """Splits chunks into lines (without their ``\\n``); see the module docstring."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, chunk: bytes) -> list[bytes | Oversize]:
        """The lines completed by ``chunk`` (and an :data:`OVERSIZE` where one overflowed)."""
        lines: list[bytes | Oversize] = []
        start = 0
        while start < len(chunk):
            newline = chunk.find(b"\n", start)
            end = len(chunk) if newline == -1 else newline
            if not self._skipping:
                if len(self._buffer) + (end - start) > self.max_line_bytes:
                    self._buffer.clear()
                    self._skipping = True
                    lines.append(OVERSIZE)
                else:
                    self._buffer += chunk[start:end]
            if newline == -1:
                break
            if not self._skipping:
                lines.append(bytes(self._buffer))
            self._buffer.clear()
            self._skipping = False
            start = newline + 1
        return lines

    def finish(self) -> bytes | None:
        """The final line when the stream ended without a newline (else None)."""
        if self._skipping or not self._buffer:
            self._buffer.clear()
            return None
        line = bytes(self._buffer)
        self._buffer.clear()
        return line
