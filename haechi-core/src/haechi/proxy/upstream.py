"""The upstream client of non-streamed exchanges: keep-alive HTTP/1.1, parsed by llhttp.

Most proxied requests are one body already in memory sent to one origin and one JSON
answer read whole, under a byte cap and a deadline. aiohttp's ``ClientSession`` does far
more per request (URL and header merging, cookie and tracing hooks, timer objects, a task
for the body write): under load it was the largest single cost of the proxy, as large
as the bare pass-through's whole request (decision 0016). This client does only what a
proxy exchange needs:

- the request head and body go out in one ``write``, with exactly the headers given plus
  ``Host`` and ``Content-Length`` (no default headers of its own);
- the answer is parsed by llhttp (:mod:`httptools`), the parser Node.js uses; interim
  ``1xx`` answers are skipped, ``HEAD`` answers end with their head, a body without a
  length runs to the end of the connection;
- the body is counted while it arrives: past ``max_bytes`` (or at once, when its
  ``Content-Length`` says so) the connection is dropped and
  :class:`~haechi.proxy.body.BodyTooLarge` raised, so no more than the cap is buffered;
  a response head still incomplete after :data:`MAX_HEAD_BYTES` is refused;
- connections are kept in a last-in-first-out pool (at most :data:`IDLE_TIMEOUT_S` idle;
  the total number is bounded). A connection is reused only after a complete answer
  whose framing allows it; a cancelled, timed-out or broken exchange closes its
  connection. As aiohttp does, a request that failed on a reused connection before any
  answer byte is retried once on a new one only when its method is idempotent.

Streamed exchanges (a relay must hand chunks on as they arrive) stay on aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable

import httptools
from multidict import CIMultiDict
from yarl import URL

from haechi.proxy.body import BodyTooLarge

__all__ = ["IDLE_TIMEOUT_S", "MAX_HEAD_BYTES", "UpstreamClient", "UpstreamFailed",
           "UpstreamReply"]

#: Longest a connection is kept unused (aiohttp's keep-alive default).
IDLE_TIMEOUT_S = 15.0
#: Bytes received before a response head (status line and headers) must be complete.
MAX_HEAD_BYTES = 64 * 1024
#: Methods a reused connection may resend after it broke before answering (RFC 9110 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class UpstreamFailed(Exception):
    """The upstream could not be reached, went away, or broke HTTP; it gave no answer."""


class UpstreamReply:
    """A whole upstream answer: ``status``, ``headers`` and the ``body`` bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDict[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Connection(asyncio.Protocol):
    """One upstream connection; it carries one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reusable = False
        self._parser = httptools.HttpResponseParser(self)
        self._reply: asyncio.Future[UpstreamReply] | None = None
        self._reset(head_only=False, max_bytes=0)

    def _reset(self, *, head_only: bool, max_bytes: int) -> None:
        self._head_only = head_only
        self._max_bytes = max_bytes
        self._head_bytes = 0  # received while the final answer's head is incomplete
        self._head_done = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._status = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._answered = False  # some byte of the answer arrived
        self._until_eof = False
        self._failure: BaseException | None = None

    # -- the exchange ---------------------------------------------------------------------

    def send(self, data: bytes, *, head_only: bool, max_bytes: int
             ) -> asyncio.Future[UpstreamReply]:
        assert self.transport is not None and self._reply is None
        self._reset(head_only=head_only, max_bytes=max_bytes)
        self.reusable = False
        self._reply = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._reply

    @property
    def answered(self) -> bool:
        return self._answered

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def _settle(self, outcome: UpstreamReply | BaseException) -> None:
        reply, self._reply = self._reply, None
        if reply is None or reply.done():
            return
        if isinstance(outcome, BaseException):
            self.close()
            reply.set_exception(outcome)
        else:
            reply.set_result(outcome)

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._reply is None:  # bytes nobody asked for: the connection is out of step
            self.close()
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._settle(self._failure or UpstreamFailed("malformed HTTP answer"))
            return
        if self._failure is not None:
            self._settle(self._failure)
        elif not self._head_done:
            # Bounds what the parser buffers for a head that never ends (one read over).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._settle(UpstreamFailed("upstream answer head too large"))

    def eof_received(self) -> bool:
        # A body without a length ends when the upstream ends its stream (a FIN; asyncio
        # reports the end of a TLS stream here too). A reset is only seen by
        # connection_lost and fails the exchange: the body may be cut short.
        if self._reply is not None and self._until_eof and self._failure is None:
            self._complete()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._reply is not None:
            self._settle(UpstreamFailed("upstream closed the connection"))

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._reply is None:  # a message after the answer, in the same read
            self.reusable = False
        self._headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        if self._status == 101:
            self._fail(UpstreamFailed("upstream switched protocols"))
            return
        if self._status < 200:
            return  # an interim answer (its message completes with no body)
        self._head_done = True
        if self._head_only:
            self._complete()
            return
        by_name = {name.lower(): value for name, value in self._headers}
        declared = by_name.get(b"content-length")  # llhttp admits one, of digits only
        self._until_eof = declared is None and b"transfer-encoding" not in by_name
        if declared is not None and self._status not in (204, 304) \
                and int(declared) > self._max_bytes:
            self._fail(BodyTooLarge())  # known from the head, before any byte of the body

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self._max_bytes:
            self._fail(BodyTooLarge())
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status < 200 or self._reply is None:
            return  # interim answers are skipped; a HEAD answer is already settled
        self.reusable = self._parser.should_keep_alive()
        self._complete()

    def _fail(self, exc: BaseException) -> None:
        """Stop at the next return to :meth:`data_received` (raising inside a parser
        callback would be reported as a parse error)."""
        if self._failure is None:
            self._failure = exc

    def _complete(self) -> None:
        if self._failure is not None:
            self._settle(self._failure)
            return
        headers: CIMultiDict[str] = CIMultiDict(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in self._headers)
        if self._head_only:
            self.reusable = False  # the parser would wait for the body a HEAD never gets
        self._settle(UpstreamReply(self._status, headers, b"".join(self._body)))


class UpstreamClient:
    """Keep-alive connections to one upstream origin (``upstream_base``'s scheme, host
    and port; its path is the prefix of every target)."""

    def __init__(self, upstream_base: str, *, connection_limit: int,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        url = URL(upstream_base)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) origin: {upstream_base!r}")
        self._host = url.host
        self._port = url.port
        self._tls = (ssl_context or ssl.create_default_context()) if url.scheme == "https" \
            else None
        self._host_header = url.host_port_subcomponent
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connection_limit)

    async def exchange(self, method: str, target: str, headers: Iterable[tuple[str, str]],
                       body: bytes, *, max_bytes: int) -> UpstreamReply:
        """Send one request and read its whole answer (at most ``max_bytes`` of body).

        Raises :class:`UpstreamFailed` (no answer), :class:`BodyTooLarge`, or whatever
        cancels the caller (its deadline); the connection is then closed."""
        data = self._request_bytes(method, target, headers, body)
        head_only = method == "HEAD"
        async with self._slots:
            retry = method in IDEMPOTENT_METHODS
            while True:
                connection, reused = await self._connection()
                try:
                    reply = await connection.send(data, head_only=head_only,
                                                  max_bytes=max_bytes)
                except UpstreamFailed:
                    if retry and reused and not connection.answered:
                        retry = False
                        continue
                    raise
                except BaseException:
                    connection.close()
                    raise
                if connection.reusable and not connection.closed:
                    connection.idle_since = time.monotonic()
                    self._idle.append(connection)
                else:
                    connection.close()
                return reply

    def _request_bytes(self, method: str, target: str, headers: Iterable[tuple[str, str]],
                       body: bytes) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        lines.append(f"Content-Length: {len(body)}")
        head = "\r\n".join(lines)
        breaks = len(lines) - 1
        if (head.count("\r") != breaks or head.count("\n") != breaks or "\0" in head
                or " " in target):
            # aiohttp's server parser lets none of these through; refuse rather than split.
            raise ValueError("a request target or header holds a line break or NUL")
        return (head + "\r\n\r\n").encode("utf-8", "surrogateescape") + body

    async def _connection(self) -> tuple[_Connection, bool]:
        """An idle connection (``True``: reused), else a new one."""
        stale_before = time.monotonic() - IDLE_TIMEOUT_S
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.idle_since > stale_before:
                return connection, True
            connection.close()
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection, self._host, self._port, ssl=self._tls,
                server_hostname=self._host if self._tls else None)
        except OSError as exc:
            raise UpstreamFailed(f"could not connect: {type(exc).__name__}") from None
        return connection, False

    def close(self) -> None:
        """Close every idle connection (exchanges in progress close their own)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
