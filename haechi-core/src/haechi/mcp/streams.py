"""Byte streams for the wrapper's event loop: our stdin/stdout/stderr and the child's pipes.

Pipes and sockets are read and written through asyncio transports. Anything else — a
regular file, ``/dev/null``, a terminal — cannot be polled, so it is read by a daemon
thread feeding a small bounded queue (the thread waits while the queue is full: input is
never buffered without limit) and written with blocking writes.

A sink whose peer has gone away (a closed pipe) turns into a no-op: messages for a peer
that is gone are dropped, and the wrapper carries on until the child exits.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from typing import Protocol

__all__ = [
    "READ_CHUNK",
    "ByteSink",
    "ByteSource",
    "open_sink",
    "open_source",
    "sink_for_writer",
    "source_for_reader",
]

READ_CHUNK = 64 * 1024
_QUEUED_CHUNKS = 8
_PEER_GONE = (BrokenPipeError, ConnectionResetError)


class ByteSource(Protocol):
    async def read(self) -> bytes:
        """The next chunk; ``b""`` at the end."""
        ...


class ByteSink(Protocol):
    async def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


def _pollable(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _ReaderSource:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read(self) -> bytes:
        return await self._reader.read(READ_CHUNK)


class _ThreadSource:
    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=_QUEUED_CHUNKS)
        self._loop = loop
        self._fd = fd
        threading.Thread(target=self._run, name=f"haechi-read-fd{fd}", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, READ_CHUNK)
            except OSError:
                chunk = b""
            try:
                asyncio.run_coroutine_threadsafe(self._queue.put(chunk), self._loop).result()
            except RuntimeError:  # the loop is closed: nobody reads any more
                return
            if not chunk:
                return

    async def read(self) -> bytes:
        return await self._queue.get()


class _WriterSink:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._gone = False

    async def write(self, data: bytes) -> None:
        if self._gone:
            return
        try:
            self._writer.write(data)
            await self._writer.drain()
        except _PEER_GONE:
            self._gone = True

    async def close(self) -> None:
        if self._gone:
            return
        self._gone = True
        try:
            if self._writer.can_write_eof():
                self._writer.write_eof()
            self._writer.close()
            await self._writer.wait_closed()
        except _PEER_GONE:
            pass


class _BlockingSink:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._gone = False

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._gone:
            try:
                view = view[os.write(self._fd, view):]
            except _PEER_GONE:
                self._gone = True

    async def close(self) -> None:
        self._gone = True


def source_for_reader(reader: asyncio.StreamReader) -> ByteSource:
    return _ReaderSource(reader)


def sink_for_writer(writer: asyncio.StreamWriter) -> ByteSink:
    return _WriterSink(writer)


async def open_source(fd: int) -> ByteSource:
    """A source reading file descriptor ``fd`` (which stays open)."""
    loop = asyncio.get_running_loop()
    if not _pollable(fd):
        return _ThreadSource(fd, loop)
    reader = asyncio.StreamReader(limit=READ_CHUNK, loop=loop)
    pipe = os.fdopen(fd, "rb", buffering=0, closefd=False)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return _ReaderSource(reader)


async def open_sink(fd: int) -> ByteSink:
    """A sink writing file descriptor ``fd``."""
    loop = asyncio.get_running_loop()
    if not _pollable(fd):
        return _BlockingSink(fd)
    pipe = os.fdopen(fd, "wb", buffering=0, closefd=False)
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop)), pipe)
    return _WriterSink(asyncio.StreamWriter(transport, protocol, None, loop))
