"""``UpstreamClient``, the proxy's keep-alive HTTP/1.1 client, against a scripted upstream.

The upstream is a real ``asyncio`` server on 127.0.0.1 that reads each request (head and
``Content-Length`` body), records it with the connection it came on, and answers with
raw bytes chosen by the test: malformed, split, late, unsolicited or missing answers.
It also records when the client ends a connection, which is how these tests see that a
connection was dropped rather than kept for reuse."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

import attrs
import pytest
from haechi.proxy import upstream
from haechi.proxy.body import BodyTooLarge
from haechi.proxy.upstream import MAX_HEAD_BYTES, UpstreamClient, UpstreamFailed

#: Longest any test waits for an event it expects (a failure, not a timing assertion).
WAIT_S = 5.0
CAP = 100


def answer(body: bytes = b"ok", *, status: bytes = b"200 OK", extra: bytes = b"",
           version: bytes = b"HTTP/1.1") -> bytes:
    """A complete answer with a ``Content-Length``."""
    return (version + b" " + status + b"\r\n" + extra
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def chunked(*chunks: bytes, extra: bytes = b"", end: bytes = b"0\r\n\r\n") -> bytes:
    framed = b"".join(f"{len(chunk):x}".encode() + b"\r\n" + chunk + b"\r\n"
                      for chunk in chunks)
    return b"HTTP/1.1 200 OK\r\n" + extra + b"Transfer-Encoding: chunked\r\n\r\n" + framed + end


@attrs.frozen
class SeenRequest:
    """A request as the upstream received it (``head`` without its blank line)."""

    number: int
    connection: int
    head: bytes
    body: bytes

    @property
    def head_lines(self) -> list[bytes]:
        return self.head.split(b"\r\n")


class Peer:
    """One accepted connection, the upstream's side of it."""

    def __init__(self, index: int, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.index = index
        self.reader = reader
        self.writer = writer
        self.client_gone = asyncio.Event()  # the client closed or reset the connection

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def trickle(self, data: bytes) -> None:
        """One byte per write, each given time to reach the client on its own."""
        for index in range(len(data)):
            await self.send(data[index:index + 1])
            await asyncio.sleep(0.001)

    def hang_up(self) -> None:
        """An orderly close (FIN)."""
        self.writer.close()

    def reset(self) -> None:
        """An abortive close (RST)."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def await_client_gone(self) -> None:
        """Read (and drop) whatever comes until the client ends the connection."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass
        self.client_gone.set()


Step = bytes | Callable[[Peer, SeenRequest], Awaitable[None]]


def ok_step(peer: Peer, request: SeenRequest) -> Awaitable[None]:
    return peer.send(answer())


class ScriptedUpstream:
    """Answers request number ``n`` (counted over all connections) with ``steps[n]``, or a
    plain ``200 ok`` past the end of the script. Bytes are sent in one write; a callable
    does what it likes with the connection."""

    def __init__(self, steps: Sequence[Step], default: Step = ok_step) -> None:
        self._steps = list(steps)
        self._default = default
        self.port = 0
        self.requests: list[SeenRequest] = []
        self.peers: list[Peer] = []
        self.open_now = 0
        self.most_open = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(len(self.peers), reader, writer)
        self.peers.append(peer)
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while not writer.is_closing():
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                    body = await reader.readexactly(content_length(head))
                except (asyncio.IncompleteReadError, ConnectionError):
                    peer.client_gone.set()
                    return
                request = SeenRequest(len(self.requests), peer.index, head[:-4], body)
                self.requests.append(request)
                step = (self._steps[request.number] if request.number < len(self._steps)
                        else self._default)
                try:
                    if isinstance(step, bytes):
                        await peer.send(step)
                    else:
                        await step(peer, request)
                except ConnectionError:
                    peer.client_gone.set()
                    return
        finally:
            self.open_now -= 1
            writer.close()

    def connections_of_requests(self) -> list[int]:
        return [request.connection for request in self.requests]


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@contextlib.asynccontextmanager
async def serving(*steps: Step, default: Step = ok_step, connection_limit: int = 4,
                  server_tls: ssl.SSLContext | None = None,
                  client_tls: ssl.SSLContext | None = None,
                  ) -> AsyncIterator[tuple[ScriptedUpstream, UpstreamClient]]:
    upstream_ = ScriptedUpstream(steps, default)
    server = await asyncio.start_server(upstream_.serve, "127.0.0.1", 0, ssl=server_tls)
    upstream_.port = server.sockets[0].getsockname()[1]
    scheme = "https" if server_tls else "http"
    client = UpstreamClient(f"{scheme}://127.0.0.1:{upstream_.port}",
                            connection_limit=connection_limit, ssl_context=client_tls)
    try:
        yield upstream_, client
    finally:
        client.close()
        server.close()
        for peer in upstream_.peers:
            peer.writer.transport.abort()
        await server.wait_closed()


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


async def waited(event: asyncio.Event) -> None:
    async with asyncio.timeout(WAIT_S):
        await event.wait()


async def get(client: UpstreamClient, target: str = "/", *, method: str = "GET",
              body: bytes = b"", max_bytes: int = CAP) -> upstream.UpstreamReply:
    """One exchange; a client that hangs fails the test after :data:`WAIT_S`."""
    async with asyncio.timeout(WAIT_S):
        return await client.exchange(method, target, [], body, max_bytes=max_bytes)


async def first_connection_dropped_and_replaced(scripted: ScriptedUpstream,
                                                client: UpstreamClient) -> None:
    """The client closed the first connection, and the next exchange succeeds on a new
    one (so the dropped connection never went back to the pool)."""
    await waited(scripted.peers[0].client_gone)
    assert (await get(client)).body == b"ok"
    assert scripted.connections_of_requests() == [0, 1]


# -- 1. the request as sent, the answer as read -----------------------------------------------


def test_request_is_exactly_what_was_given_and_answer_keeps_duplicate_headers() -> None:
    reply_bytes = answer(b'{"ok":true}', status=b"201 Created",
                         extra=b"Content-Type: application/json\r\n"
                               b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n")

    async def scenario() -> None:
        async with serving(reply_bytes) as (scripted, client):
            reply = await client.exchange(
                "POST", "/v1/chat/completions?trace=1",
                [("Content-Type", "application/json"), ("X-Request-Id", "r-1")],
                b'{"model":"m"}', max_bytes=CAP)
            assert reply.status == 201
            assert reply.headers.getall("set-cookie") == ["a=1", "b=2"]
            assert reply.headers["content-type"] == "application/json"
            assert reply.body == b'{"ok":true}'
            [seen] = scripted.requests
            assert seen.head_lines == [
                b"POST /v1/chat/completions?trace=1 HTTP/1.1",
                f"Host: 127.0.0.1:{scripted.port}".encode(),
                b"Content-Type: application/json",
                b"X-Request-Id: r-1",
                b"Content-Length: 13",
            ]
            assert seen.body == b'{"model":"m"}'

    run(scenario())


def test_bodyless_request_still_declares_its_length() -> None:
    async def scenario() -> None:
        async with serving() as (scripted, client):
            await get(client, "/v1/models")
            assert scripted.requests[0].head_lines[1:] == [
                f"Host: 127.0.0.1:{scripted.port}".encode(), b"Content-Length: 0"]

    run(scenario())


# -- 2. keep-alive ---------------------------------------------------------------------------


@pytest.mark.parametrize(("first_answer", "connections"), [
    (answer(), [0, 0]),
    (answer(extra=b"Connection: close\r\n"), [0, 1]),
    (answer(version=b"HTTP/1.0"), [0, 1]),
    (answer(version=b"HTTP/1.0", extra=b"Connection: keep-alive\r\n"), [0, 0]),
], ids=["keep-alive", "connection-close", "http-1.0", "http-1.0-keep-alive"])
def test_connection_is_reused_only_when_the_answer_allows_it(
        first_answer: bytes, connections: list[int]) -> None:
    async def scenario() -> None:
        async with serving(first_answer) as (scripted, client):
            assert (await get(client)).body == b"ok"
            assert (await get(client)).body == b"ok"
            assert scripted.connections_of_requests() == connections
            if connections[1] == 1:  # the client, not the upstream, ended the first one
                await waited(scripted.peers[0].client_gone)

    run(scenario())


# -- 3. body framings ------------------------------------------------------------------------


async def until_close(peer: Peer, request: SeenRequest) -> None:
    await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the")
    await peer.send(b" very end")
    peer.hang_up()


@pytest.mark.parametrize(("step", "status", "body", "reused"), [
    (chunked(b"Wiki", b"pedia"), 200, b"Wikipedia", True),
    (chunked(b"with", b" trailer", end=b"0\r\nX-Checksum: 1\r\n\r\n"), 200,
     b"with trailer", True),
    (until_close, 200, b"to the very end", False),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", True),
    # A 304 declares the length of what it does not send: not a body over the cap.
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\n\r\n", 304, b"", True),
], ids=["chunked", "chunked-trailer", "until-close", "204", "304-with-length"])
def test_body_framings(step: Step, status: int, body: bytes, reused: bool) -> None:
    async def scenario() -> None:
        async with serving(step) as (scripted, client):
            reply = await get(client)
            assert (reply.status, reply.body) == (status, body)
            assert (await get(client)).body == b"ok"
            assert scripted.connections_of_requests() == ([0, 0] if reused else [0, 1])

    run(scenario())


@pytest.mark.parametrize(("whole", "body"), [
    (answer(b"one byte at a time", extra=b"X-Split: yes\r\n"), b"one byte at a time"),
    # 0x1a = 26: the chunk-size line "1a\r\n" arrives in four reads.
    (chunked(b"abcdefghijklmnopqrstuvwxyz", b"!"), b"abcdefghijklmnopqrstuvwxyz!"),
], ids=["content-length", "chunked"])
def test_answer_split_into_single_bytes(whole: bytes, body: bytes) -> None:
    async def trickled(peer: Peer, request: SeenRequest) -> None:
        await peer.trickle(whole)

    async def scenario() -> None:
        async with serving(trickled) as (scripted, client):
            assert (await get(client)).body == body
            assert (await get(client)).body == b"ok"  # the parser ended in step
            assert scripted.connections_of_requests() == [0, 0]

    run(scenario())


# -- 4. interim answers ----------------------------------------------------------------------


INTERIM = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")


async def interim_then_final(peer: Peer, request: SeenRequest) -> None:
    await peer.send(INTERIM)
    await asyncio.sleep(0.01)
    await peer.send(answer(b"final"))


@pytest.mark.parametrize("step", [INTERIM + answer(b"final"), interim_then_final],
                         ids=["one-write", "separate-writes"])
def test_interim_answers_are_skipped(step: Step) -> None:
    async def scenario() -> None:
        async with serving(step) as (scripted, client):
            reply = await get(client)
            assert (reply.status, reply.body) == (200, b"final")
            assert "Link" not in reply.headers
            assert (await get(client)).body == b"ok"
            assert scripted.connections_of_requests() == [0, 0]

    run(scenario())


# -- 5. HEAD ---------------------------------------------------------------------------------


def test_head_answer_ends_with_its_head_and_its_connection_is_dropped() -> None:
    async def head_then_wait(peer: Peer, request: SeenRequest) -> None:
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        await peer.await_client_gone()

    async def scenario() -> None:
        async with serving(head_then_wait) as (scripted, client):
            reply = await get(client, method="HEAD")
            assert (reply.status, reply.body) == (200, b"")
            assert reply.headers["Content-Length"] == "10"
            await first_connection_dropped_and_replaced(scripted, client)

    run(scenario())


# -- 6. caps -----------------------------------------------------------------------------------


async def declared_too_long(peer: Peer, request: SeenRequest) -> None:
    """Declares more than the cap and sends none of it: refused from the head alone."""
    await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    await peer.await_client_gone()


async def sent_too_long(peer: Peer, request: SeenRequest) -> None:
    await peer.send(answer(b"x" * (CAP + 1)))
    await peer.await_client_gone()


async def chunked_too_long(peer: Peer, request: SeenRequest) -> None:
    """Chunks that never end, one per write, until the client is gone."""
    await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(1000):
        if peer.writer.transport.is_closing():
            break
        await peer.send(b"20\r\n" + b"y" * 32 + b"\r\n")
        await asyncio.sleep(0)
    await peer.await_client_gone()


async def unframed_too_long(peer: Peer, request: SeenRequest) -> None:
    await peer.send(b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * (CAP + 1))
    await peer.await_client_gone()


@pytest.mark.parametrize("step", [declared_too_long, sent_too_long, chunked_too_long,
                                  unframed_too_long],
                         ids=["declared", "content-length", "chunked", "until-close"])
def test_body_over_the_cap_is_refused_and_its_connection_closed(step: Step) -> None:
    async def scenario() -> None:
        async with serving(step) as (scripted, client):
            with pytest.raises(BodyTooLarge):
                await get(client, max_bytes=CAP)
            await first_connection_dropped_and_replaced(scripted, client)

    run(scenario())


async def exact_until_close(peer: Peer, request: SeenRequest) -> None:
    await peer.send(b"HTTP/1.1 200 OK\r\n\r\n" + b"e" * CAP)
    peer.hang_up()


@pytest.mark.parametrize("step", [
    answer(b"e" * CAP),
    chunked(b"e" * (CAP - 1), b"e"),
    exact_until_close,
], ids=["content-length", "chunked", "until-close"])
def test_body_of_exactly_the_cap_is_accepted(step: Step) -> None:
    async def scenario() -> None:
        async with serving(step) as (_, client):
            assert (await get(client, max_bytes=CAP)).body == b"e" * CAP

    run(scenario())


def padding_line(index: int) -> bytes:
    return f"X-Pad-{index:04d}: ".encode() + b"p" * 1000 + b"\r\n"


def test_head_that_never_ends_is_refused_without_buffering_much_more() -> None:
    offered = 32 * MAX_HEAD_BYTES
    sent = 0

    async def endless_head(peer: Peer, request: SeenRequest) -> None:
        nonlocal sent
        await peer.send(b"HTTP/1.1 200 OK\r\n")
        index = 0
        while sent < offered and not peer.writer.transport.is_closing():
            line = padding_line(index)
            await peer.send(line)
            sent += len(line)
            index += 1
            await asyncio.sleep(0)
        await peer.await_client_gone()

    async def scenario() -> None:
        async with serving(endless_head) as (scripted, client):
            with pytest.raises(UpstreamFailed):
                await get(client)
            await waited(scripted.peers[0].client_gone)
            # Refused once the cap was passed: the upstream could not send much more.
            assert sent < 2 * MAX_HEAD_BYTES

    run(scenario())


def test_large_head_under_the_cap_in_many_reads_is_accepted() -> None:
    lines = b"".join(padding_line(index) for index in range((MAX_HEAD_BYTES - 2048) // 1013))

    async def long_head(peer: Peer, request: SeenRequest) -> None:
        await peer.send(b"HTTP/1.1 200 OK\r\n")
        for start in range(0, len(lines), 4096):
            await peer.send(lines[start:start + 4096])
            await asyncio.sleep(0.001)
        await peer.send(b"Content-Length: 4\r\n\r\nlong")

    async def scenario() -> None:
        async with serving(long_head) as (_, client):
            reply = await get(client)
            assert reply.body == b"long"
            assert reply.headers["X-Pad-0000"] == "p" * 1000

    run(scenario())


# -- 7. broken answers -------------------------------------------------------------------------


def then_wait(data: bytes) -> Step:
    async def step(peer: Peer, request: SeenRequest) -> None:
        await peer.send(data)
        await peer.await_client_gone()
    return step


async def cut_mid_body(peer: Peer, request: SeenRequest) -> None:
    await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
    peer.hang_up()


async def reset_mid_unframed_body(peer: Peer, request: SeenRequest) -> None:
    """A body that runs to the end of the connection, cut by a reset: not a whole body."""
    await peer.send(b"HTTP/1.1 200 OK\r\n\r\npartial")
    await asyncio.sleep(0.01)
    peer.reset()


async def silent_hang_up(peer: Peer, request: SeenRequest) -> None:
    peer.hang_up()


BROKEN: dict[str, Step] = {
    "garbage-status-line": then_wait(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
    "bad-chunk-size": then_wait(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "length-and-chunked": then_wait(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    "two-lengths": then_wait(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             b"Content-Length: 3\r\n\r\nabc"),
    "switching-protocols": then_wait(b"HTTP/1.1 101 Switching Protocols\r\n"
                                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    "101-without-upgrade": then_wait(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"),
    "closed-mid-body": cut_mid_body,
    "reset-mid-unframed-body": reset_mid_unframed_body,
    "closed-before-any-byte": silent_hang_up,
}


@pytest.mark.parametrize("step", BROKEN.values(), ids=BROKEN.keys())
def test_broken_answer_fails_and_its_connection_is_never_reused(step: Step) -> None:
    async def scenario() -> None:
        async with serving(step) as (scripted, client):
            with pytest.raises(UpstreamFailed):
                await get(client)  # idempotent, but on a new connection: never retried
            assert (await get(client)).body == b"ok"
            assert scripted.connections_of_requests() == [0, 1]
            if not scripted.peers[0].writer.is_closing():
                await waited(scripted.peers[0].client_gone)

    run(scenario())


# -- 8. the retry rule -------------------------------------------------------------------------


def test_idempotent_request_is_retried_once_when_a_reused_connection_dies_unanswered() -> None:
    async def scenario() -> None:
        async with serving(answer(), silent_hang_up) as (scripted, client):
            await get(client)
            reply = await get(client, "/v1/models")
            assert reply.body == b"ok"
            assert scripted.connections_of_requests() == [0, 0, 1]
            assert scripted.requests[1].head == scripted.requests[2].head

    run(scenario())


def test_post_is_not_retried_when_a_reused_connection_dies_unanswered() -> None:
    async def scenario() -> None:
        async with serving(answer(), silent_hang_up) as (scripted, client):
            await get(client)
            with pytest.raises(UpstreamFailed):
                await get(client, method="POST", body=b'{"n":1}')
            assert scripted.connections_of_requests() == [0, 0]
            assert len(scripted.peers) == 1

    run(scenario())


async def partly_answered_hang_up(peer: Peer, request: SeenRequest) -> None:
    await peer.send(b"HTTP/1.1 200 OK\r\nContent-Le")
    peer.hang_up()


@pytest.mark.parametrize("steps", [
    (answer(), partly_answered_hang_up),  # an answer had begun: not a clean miss
    (answer(), silent_hang_up, silent_hang_up),  # the one retry fails too
], ids=["partly-answered", "retry-fails"])
def test_get_is_retried_at_most_once_and_only_before_any_answer_byte(
        steps: tuple[Step, ...]) -> None:
    async def scenario() -> None:
        async with serving(*steps) as (scripted, client):
            await get(client)
            with pytest.raises(UpstreamFailed):
                await get(client)
            assert len(scripted.requests) == len(steps)

    run(scenario())


# -- 9. unsolicited bytes ----------------------------------------------------------------------


STALE = answer(b"stale")


def test_bytes_sent_on_an_idle_connection_are_never_taken_as_the_next_answer() -> None:
    release = asyncio.Event()

    async def answer_then_stale(peer: Peer, request: SeenRequest) -> None:
        await peer.send(answer(b"first"))
        await release.wait()
        await peer.send(STALE)
        await peer.await_client_gone()

    async def scenario() -> None:
        async with serving(answer_then_stale) as (scripted, client):
            assert (await get(client)).body == b"first"
            release.set()
            await first_connection_dropped_and_replaced(scripted, client)

    run(scenario())


def test_second_answer_in_the_same_read_makes_the_connection_unusable() -> None:
    async def scenario() -> None:
        async with serving(then_wait(answer(b"first") + STALE)) as (scripted, client):
            assert (await get(client)).body == b"first"
            assert (await get(client)).body == b"ok"
            assert scripted.connections_of_requests() == [0, 1]
            await waited(scripted.peers[0].client_gone)

    run(scenario())


# -- 10. cancellation --------------------------------------------------------------------------


@pytest.mark.parametrize("sent_first", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"],
                         ids=["nothing-yet", "mid-body"])
def test_cancelled_exchange_closes_its_connection(sent_first: bytes) -> None:
    arrived = asyncio.Event()

    async def stall(peer: Peer, request: SeenRequest) -> None:
        await peer.send(sent_first)
        arrived.set()
        await peer.await_client_gone()

    async def scenario() -> None:
        async with serving(stall) as (scripted, client):
            pending = asyncio.create_task(get(client))
            await waited(arrived)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            await first_connection_dropped_and_replaced(scripted, client)

    run(scenario())


def test_deadline_closes_the_connection_as_the_proxy_uses_it() -> None:
    async def scenario() -> None:
        async with serving(then_wait(b"")) as (scripted, client):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await get(client)
            await first_connection_dropped_and_replaced(scripted, client)

    run(scenario())


# -- 11. idle timeout --------------------------------------------------------------------------


def test_connection_idle_longer_than_the_timeout_is_not_reused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(upstream, "IDLE_TIMEOUT_S", 5.0)
    monkeypatch.setattr(upstream, "time", types.SimpleNamespace(monotonic=lambda: now[0]))

    async def scenario() -> None:
        async with serving() as (scripted, client):
            await get(client)
            now[0] += 4.9
            await get(client)
            now[0] += 5.1
            await get(client)
            assert scripted.connections_of_requests() == [0, 0, 1]
            await waited(scripted.peers[0].client_gone)

    run(scenario())


# -- 12. connection limit ----------------------------------------------------------------------


def test_connection_limit_bounds_open_connections_under_concurrency() -> None:
    async def slow_echo(peer: Peer, request: SeenRequest) -> None:
        await asyncio.sleep(0.02)
        await peer.send(answer(request.body))

    async def scenario() -> None:
        async with serving(default=slow_echo, connection_limit=2) as (scripted, client):
            bodies = [f"request-{index}".encode() for index in range(6)]
            replies = await asyncio.gather(*(
                get(client, method="POST", body=body) for body in bodies))
            assert [reply.body for reply in replies] == bodies
            assert scripted.most_open <= 2
            assert len(scripted.peers) <= 2

    run(scenario())


# -- 13. header and target injection -----------------------------------------------------------


@pytest.mark.parametrize(("target", "headers"), [
    ("/", [("X-Note", "a\r\nX-Injected: 1")]),
    ("/", [("X-Note", "a\nX-Injected: 1")]),
    ("/", [("X-Note", "a\rb")]),
    ("/", [("X-Note\r\nX-Injected", "1")]),
    ("/", [("X-Note", "a\0b")]),
    ("/", [("X-N\0te", "a")]),
    ("/v1/chat HTTP/1.1\r\nX-Injected: 1\r\nX:", []),
    ("/a b", []),
    ("/a\0b", []),
], ids=["value-crlf", "value-lf", "value-cr", "name-crlf", "value-nul", "name-nul",
        "target-crlf", "target-space", "target-nul"])
def test_line_breaks_nul_or_space_are_refused_before_anything_is_sent(
        target: str, headers: list[tuple[str, str]]) -> None:
    async def scenario() -> None:
        async with serving() as (scripted, client):
            with pytest.raises(ValueError) as raised:
                await client.exchange("POST", target, headers, b"{}", max_bytes=CAP)
            assert "Injected" not in str(raised.value)
            await asyncio.sleep(0)
            assert scripted.requests == [] and scripted.peers == []

    run(scenario())


# -- 14. connection refused --------------------------------------------------------------------


def test_refused_connection_fails_without_naming_the_request() -> None:
    secret_header = "Bearer sk-live-abcdefghijklmnopqrstuvwx1234"
    secret_body = b'{"email":"minji.kim@example.com"}'
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> None:
        client = UpstreamClient(f"http://127.0.0.1:{port}", connection_limit=2)
        with pytest.raises(UpstreamFailed) as raised:
            await client.exchange("POST", "/v1/chat/completions?key=k-123",
                                  [("Authorization", secret_header)], secret_body,
                                  max_bytes=CAP)
        failure = raised.value
        text = f"{failure!s} {failure!r} {failure.__context__!s} {failure.__context__!r}"
        for raw in (secret_header, "sk-live", "minji.kim", "k-123"):
            assert raw not in text
        assert failure.__cause__ is None and failure.__suppress_context__

    run(scenario())


# -- 15. TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> Any:
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


def server_context(authority: Any, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return context


def trusting(authority: Any) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def test_tls_upstream_with_a_trusted_certificate(authority: Any) -> None:
    async def scenario() -> None:
        async with serving(server_tls=server_context(authority, "127.0.0.1"),
                           client_tls=trusting(authority)) as (scripted, client):
            assert (await get(client)).body == b"ok"
            assert (await get(client)).body == b"ok"
            assert scripted.connections_of_requests() == [0, 0]

    run(scenario())


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted-ca", "wrong-name"])
def test_tls_upstream_that_cannot_be_verified_fails(authority: Any, trusted: bool) -> None:
    name = "upstream.example.org" if trusted else "127.0.0.1"

    async def scenario() -> None:
        async with serving(server_tls=server_context(authority, name),
                           client_tls=trusting(authority) if trusted else None,
                           ) as (scripted, client):
            with pytest.raises(UpstreamFailed):
                await get(client)
            assert scripted.requests == []

    run(scenario())


# -- 16. close() -------------------------------------------------------------------------------


def test_close_ends_idle_connections() -> None:
    async def scenario() -> None:
        async with serving() as (scripted, client):
            await asyncio.gather(get(client), get(client))
            assert len(scripted.peers) == 2
            client.close()
            for peer in scripted.peers:
                await waited(peer.client_gone)

    run(scenario())
