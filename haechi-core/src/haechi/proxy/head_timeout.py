"""``limits.headersTimeoutMs``: a client must deliver each request head in time.

aiohttp has no header-read timeout: a slowloris client that trickles header bytes (or
sends nothing at all) holds a connection, and a worker's file descriptors, for as long as
aiohttp's keep-alive timeout allows (about an hour by default). This module closes that
gap, as Node's ``server.headersTimeout`` does for the reference.

The clock starts when a fresh connection is accepted, and on a keep-alive connection at
the first byte of each new request head; it stops when the head (request line and
headers) is complete. Body bytes and the idle time between requests are never counted
(the body has ``limits.requestTimeoutMs``, idleness aiohttp's keep-alive timeout). On
expiry an idle connection gets ``408 haechi_headers_timeout`` with ``Connection: close``
and is closed; a connection still answering an earlier (pipelined) request finishes that
answer and is then closed, since a 408 cannot overtake it. One log line records it.

The seam is aiohttp's server protocol: :class:`HeadTimeoutProtocol` subclasses
``aiohttp.web_protocol.RequestHandler`` and watches ``data_received``. Whether a head is
still incomplete is read from the handler's queue of parsed messages and the newest
message's body, because the C parser keeps its own state private. One consequence: the
remainder of a read that also completed a request (a pipelined partial head in the same
TCP segment) starts its clock at the client's next read, and until then is bounded by
the keep-alive timeout like any idle connection. With TLS the clock starts once the
handshake is done (asyncio bounds the handshake itself). A head that arrives in one read
costs two length checks; a timer exists only from accept to the first head and while a
head is partial.
The handler attributes this relies on are checked at start-up
(:func:`check_aiohttp_seam`), and the tests drive a real proxy through the seam.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import aiohttp
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from haechi.errors import HaechiError
from haechi.proxy.logs import LOGGER_NAME, log_fields
from haechi.proxy.replies import error_reply

__all__ = ["HEADERS_TIMEOUT_ERROR", "HeadTimeoutProtocol", "check_aiohttp_seam",
           "proxy_runner"]

HEADERS_TIMEOUT_ERROR = "haechi_headers_timeout"

#: ``RequestHandler`` internals read here: the queue of parsed (message, payload) pairs and
#: the future its ``start()`` loop awaits while the connection is idle.
_HANDLER_SLOTS = ("_messages", "_waiter")


def check_aiohttp_seam() -> None:
    """Refuse to start, rather than run unprotected, if aiohttp's handler has changed."""
    slots = set(getattr(RequestHandler, "__slots__", ()))
    missing = [name for name in _HANDLER_SLOTS if name not in slots]
    if missing:
        raise _seam_error(f"its RequestHandler no longer has {', '.join(missing)}")


def _seam_error(what_changed: str) -> HaechiError:
    return HaechiError(
        f"limits.headersTimeoutMs cannot be enforced with aiohttp {aiohttp.__version__} "
        f"({what_changed}); unset it or install the aiohttp version Haechi was tested with.")


def _timeout_reply_bytes(headers_timeout_ms: int) -> bytes:
    """The whole HTTP/1.1 408 answer, built once per server: the JSON error body and
    headers of :func:`haechi.proxy.replies.error_reply`, plus ``Connection: close``."""
    reply = error_reply(408, HEADERS_TIMEOUT_ERROR,
                        f"Request headers not received within limits.headersTimeoutMs "
                        f"({headers_timeout_ms})", headers={"Connection": "close"})
    body = cast(bytes, reply.body)
    headers = {**reply.headers, "Content-Length": str(len(body))}
    head = "HTTP/1.1 408 Request Timeout\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    return head.encode("ascii") + body


class HeadTimeoutProtocol(RequestHandler):
    """aiohttp's HTTP/1 server protocol with a deadline on every request head.

    :ivar _head_deadline: the pending expiry while a head is incomplete, else None.
    :ivar _open_body: the body stream of the newest head while that body is still
        arriving (bytes are then body, not a new head); None otherwise.
    """

    __slots__ = ("_head_deadline", "_head_timeout_s", "_open_body", "_timeout_reply")

    def __init__(self, manager: web.Server, *, head_timeout_s: float, timeout_reply: bytes,
                 **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout_s = head_timeout_s
        self._timeout_reply = timeout_reply
        self._head_deadline: asyncio.TimerHandle | None = None
        self._open_body: StreamReader | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # A fresh connection owes its first head from now, even if it never sends a byte.
        self._arm()

    def data_received(self, data: bytes) -> None:
        starts_head = self._head_deadline is None and self._open_body is None
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) > queued:
            # A head completed: its clock stops (the body is not counted).
            newest_body = self._messages[-1][1]
            self._open_body = None if newest_body.is_eof() else newest_body
            self._disarm()
        elif self._open_body is not None:
            if self._open_body.is_eof():
                self._open_body = None  # not kept: an unread body stays collectable
        elif starts_head and data:
            self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        loop = self._loop
        self._head_deadline = loop.call_at(loop.time() + self._head_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _expire(self) -> None:
        self._head_deadline = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        # Idle as aiohttp's own keep-alive check defines it: start() awaits the next head.
        idle = self._waiter is not None and not self._waiter.done()
        outcome = {"statusCode": 408} if idle else {"closedAfterResponse": True}
        logging.getLogger(LOGGER_NAME).warning("Request headers timeout", extra=log_fields(
            error=HEADERS_TIMEOUT_ERROR, headersTimeoutMs=round(self._head_timeout_s * 1000),
            **outcome))
        if idle:
            transport.write(self._timeout_reply)
            self.force_close()  # the transport flushes the 408, then closes
        else:
            self.close()  # finish the answer in progress, then close


class _HeadTimeoutServer(web.Server):
    """aiohttp's low-level server, making a :class:`HeadTimeoutProtocol` per connection."""

    def __init__(self, handler: Any, *, head_timeout_s: float, timeout_reply: bytes,
                 **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._head_options = {"head_timeout_s": head_timeout_s,
                              "timeout_reply": timeout_reply}

    def __call__(self) -> HeadTimeoutProtocol:
        return HeadTimeoutProtocol(self, loop=self._loop, **self._head_options, **self._kwargs)


class _HeadTimeoutAppRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` whose server uses :class:`HeadTimeoutProtocol`."""

    __slots__ = ("_headers_timeout_ms",)

    def __init__(self, app: web.Application, *, headers_timeout_ms: int,
                 **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._headers_timeout_ms = headers_timeout_ms

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        handler_options = getattr(plain, "_kwargs", None)
        if not isinstance(handler_options, dict):
            raise _seam_error("its Server no longer keeps the handler options in _kwargs")
        return _HeadTimeoutServer(
            plain.request_handler, request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            head_timeout_s=self._headers_timeout_ms / 1000,
            timeout_reply=_timeout_reply_bytes(self._headers_timeout_ms), **handler_options)


def proxy_runner(app: web.Application, headers_timeout_ms: int | None,
                 **runner_options: Any) -> web.AppRunner:
    """The runner for ``app``: aiohttp's own when ``headers_timeout_ms`` is None or 0 (no
    limit, as in Node), else one that enforces it on every connection."""
    if not headers_timeout_ms:
        return web.AppRunner(app, **runner_options)
    check_aiohttp_seam()
    return _HeadTimeoutAppRunner(app, headers_timeout_ms=headers_timeout_ms,
                                 **runner_options)
