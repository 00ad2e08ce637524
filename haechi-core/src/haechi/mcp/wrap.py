"""``haechi mcp-wrap``: run an MCP server as a child and filter both directions.

Two pumps run concurrently on one event loop. The client pump reads our stdin (the MCP
client) and feeds the child's stdin; the server pump reads the child's stdout and feeds
our stdout. Both frame lines with :class:`~haechi.mcp.framing.LineSplitter` and pass
each line through one :class:`~haechi.mcp.filter.McpFilter`, which holds the session's
pending requests and tool pins. A third pump filters the child's stderr (``--stderr
filter``); ``drop`` sends it to ``/dev/null`` and ``inherit`` hands the child our stderr.

Protection runs on the loop thread, one message at a time per direction, so messages
keep their order and the filter's session state needs no lock; a pump that waits on a
slow peer yields to the other.

Lifetime: SIGINT and SIGTERM are forwarded to the child. End of our stdin closes the
child's stdin. When the child exits, the output it already wrote is still filtered and
delivered (for at most :data:`DRAIN_AFTER_EXIT_S`), then the wrapper returns the child's
exit code, or 1 when a signal killed it. If filtering itself fails (for example the audit
log cannot be written), the child is killed and the error is raised: nothing passes
unprotected.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from haechi.errors import HaechiError
from haechi.mcp.events import Origin
from haechi.mcp.filter import McpFilter, Outcome
from haechi.mcp.framing import OVERSIZE, LineSplitter, Oversize
from haechi.mcp.stderr import StderrFilter
from haechi.mcp.streams import (
    ByteSink,
    ByteSource,
    open_sink,
    open_source,
    sink_for_writer,
    source_for_reader,
)

if TYPE_CHECKING:
    from haechi.runtime import Runtime

__all__ = ["DRAIN_AFTER_EXIT_S", "STDERR_MODES", "StderrMode", "run_wrap"]

StderrMode = Literal["filter", "drop", "inherit"]
STDERR_MODES: tuple[StderrMode, ...] = ("filter", "drop", "inherit")
DRAIN_AFTER_EXIT_S = 5.0
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_wrap(runtime: Runtime, command: Sequence[str], *,
                   stderr_mode: StderrMode = "filter") -> int:
    """Run ``command`` behind the filter; returns the exit code for the wrapper."""
    mcp_filter = McpFilter(runtime, session=True)
    stderr_filter = StderrFilter(runtime) if stderr_mode == "filter" else None
    child_stderr = {"filter": asyncio.subprocess.PIPE, "drop": asyncio.subprocess.DEVNULL,
                    "inherit": None}[stderr_mode]
    try:
        child = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=child_stderr,
        )
    except OSError as exc:
        raise HaechiError(
            f"Could not start the MCP server command {command[0]!r}: {exc.strerror or exc}"
        ) from None

    client_out = await open_sink(1)
    server_in = sink_for_writer(child.stdin)
    # Plain signal handlers, not loop.add_signal_handler: they run in the main thread as
    # soon as the signal interrupts the event loop's wait, without depending on the loop's
    # wake-up pipe (with it, a SIGINT was occasionally never forwarded under load).
    previous = {
        signum: signal.signal(signum, lambda received, _frame: _forward_signal(child, received))
        for signum in _FORWARDED_SIGNALS
    }
    try:
        client_pump = asyncio.create_task(_client_pump(await open_source(0), mcp_filter,
                                                       server_in, client_out))
        output_pumps = [asyncio.create_task(_pump(
            source_for_reader(child.stdout), "server", mcp_filter,
            to_peer=client_out, to_sender=server_in))]
        if stderr_filter is not None:
            output_pumps.append(asyncio.create_task(_stderr_pump(
                source_for_reader(child.stderr), stderr_filter, await open_sink(2),
                mcp_filter.max_line_bytes)))
        code = await _supervise(child, client_pump, output_pumps)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        await client_out.close()
    return 1 if code < 0 else code


async def _supervise(child: asyncio.subprocess.Process, client_pump: asyncio.Task,
                     output_pumps: list[asyncio.Task]) -> int:
    """Wait for the child; a failing pump kills it (fail closed) and its error is raised.
    After the exit the child's output pumps run until its pipes end (bounded); the client
    pump is cancelled, since our stdin may stay open."""
    exited = asyncio.create_task(child.wait())
    running = {client_pump, *output_pumps}
    failure: BaseException | None = None
    while not exited.done():
        done, _ = await asyncio.wait({exited, *running}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {exited}:
            running.discard(task)
            if task.exception() is not None and failure is None:
                failure = task.exception()
                child.kill()
    draining = running - {client_pump}
    if draining:
        await asyncio.wait(draining, timeout=DRAIN_AFTER_EXIT_S)
    pumps = [client_pump, *output_pumps]
    for task in pumps:
        task.cancel()
    results = await asyncio.gather(*pumps, return_exceptions=True)
    if failure is None:
        failure = next((r for r in results if isinstance(r, Exception)), None)
    if failure is not None:
        raise failure
    return exited.result()


def _forward_signal(child: asyncio.subprocess.Process, signum: int) -> None:
    if child.returncode is None:
        child.send_signal(signum)


async def _client_pump(source: ByteSource, mcp_filter: McpFilter, server_in: ByteSink,
                       client_out: ByteSink) -> None:
    await _pump(source, "client", mcp_filter, to_peer=server_in, to_sender=client_out)
    await server_in.close()  # the client is done: the server sees end of input


async def _pump(source: ByteSource, origin: Origin, mcp_filter: McpFilter, *,
                to_peer: ByteSink, to_sender: ByteSink) -> None:
    async def deliver(item: bytes | Oversize) -> None:
        outcome: Outcome = (mcp_filter.oversize(origin) if item is OVERSIZE
                            else mcp_filter.handle(item, origin))
        if outcome.forward is not None:
            await to_peer.write(outcome.forward + b"\n")
        if outcome.reply is not None:
            await to_sender.write(outcome.reply + b"\n")

    await _each_line(source, LineSplitter(mcp_filter.max_line_bytes), deliver)


async def _stderr_pump(source: ByteSource, stderr_filter: StderrFilter, sink: ByteSink,
                       limit: int) -> None:
    async def deliver(item: bytes | Oversize) -> None:
        line = stderr_filter.oversize(limit) if item is OVERSIZE else stderr_filter.line(item)
        if line is not None:
            await sink.write(line + b"\n")

    await _each_line(source, LineSplitter(limit), deliver)


async def _each_line(source: ByteSource, splitter: LineSplitter,
                     deliver: Callable[[bytes | Oversize], object]) -> None:
    while chunk := await source.read():
        for item in splitter.feed(chunk):
            await deliver(item)
    final = splitter.finish()
    if final is not None:
        await deliver(final)
