"""``haechi mcp-stdio``: the filter in one direction, from stdin to stdout.

Every message is treated as the client's (the method allowlist applies); a message's
error reply is written to stdout in its place. Reading is synchronous: there is only one
stream to serve, and stdin may be a regular file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO

from haechi.mcp.filter import McpFilter, Outcome
from haechi.mcp.framing import OVERSIZE, LineSplitter
from haechi.mcp.streams import READ_CHUNK

if TYPE_CHECKING:
    from haechi.runtime import Runtime

__all__ = ["run_stdio"]


def run_stdio(runtime: Runtime, stdin_fd: int, stdout: BinaryIO) -> int:
    """Filter ``stdin_fd`` to ``stdout`` until end of input (or until stdout's reader
    goes away). Returns the exit code, 0."""
    mcp_filter = McpFilter(runtime, session=False)
    splitter = LineSplitter(mcp_filter.max_line_bytes)
    try:
        while chunk := os.read(stdin_fd, READ_CHUNK):
            for item in splitter.feed(chunk):
                _write(stdout, mcp_filter.oversize("client") if item is OVERSIZE
                       else mcp_filter.handle(item, "client"))
        final = splitter.finish()
        if final is not None:
            _write(stdout, mcp_filter.handle(final, "client"))
    except BrokenPipeError:
        pass
    return 0


def _write(stdout: BinaryIO, outcome: Outcome) -> None:
    for line in (outcome.forward, outcome.reply):
        if line is not None:
            stdout.write(line + b"\n")
    stdout.flush()
