"""A client that goes away aborts the upstream request (real ``haechi proxy`` process).

The upstream here is a raw socket server in a thread of the test process: it reads one
request, answers nothing (or only the start of a stream) and then watches its connection,
so the test sees exactly when the proxy hangs up on it. ``limits.upstreamTimeoutMs`` is
far longer than the waits below, so only the client's disconnect can close it.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from tests.core.proxy.conftest import chat, make_workdir, running_proxy

#: Generous bound for the proxy to react; the upstream timeout is ten times longer.
REACTION_S = 15
UPSTREAM_TIMEOUT_MS = 150_000

STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class SilentUpstream:
    """Accepts one connection, reads one request, optionally sends ``preamble``, then
    records when the peer closes the connection."""

    def __init__(self, preamble: bytes = b"") -> None:
        self.preamble = preamble
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.request_seen = threading.Event()
        self.peer_closed = threading.Event()
        self.request_head = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(REACTION_S * 2)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(REACTION_S * 2)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            self.request_head = data.split(b"\r\n\r\n", 1)[0]
            self.request_seen.set()
            if self.preamble:
                conn.sendall(self.preamble)
            try:
                while conn.recv(65536):
                    pass  # the rest of the body, then EOF when the proxy hangs up
                self.peer_closed.set()
            except ConnectionResetError:
                self.peer_closed.set()
            except OSError:
                pass  # our own timeout: the proxy never hung up

    def close(self) -> None:
        self.listener.close()
        self._thread.join(REACTION_S * 2)


def _post(port: int, body: dict) -> socket.socket:
    raw = json.dumps(body).encode()
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\n"
                   b"Content-Type: application/json\r\nContent-Length: "
                   + str(len(raw)).encode() + b"\r\n\r\n" + raw)
    return client


def _workdir(tmp_path, upstream: SilentUpstream, stream_mode: str | None):
    def edit(config: dict) -> None:
        config["limits"]["upstreamTimeoutMs"] = UPSTREAM_TIMEOUT_MS
        config["responseProtection"]["enabled"] = True
        if stream_mode is not None:
            config["streaming"]["requestMode"] = stream_mode

    return make_workdir(tmp_path / "proxy", f"http://127.0.0.1:{upstream.port}", edit)


def test_disconnect_while_waiting_for_the_upstream_aborts_it(tmp_path):
    upstream = SilentUpstream()
    try:
        with running_proxy(_workdir(tmp_path, upstream, None)) as proxy:
            client = _post(proxy.port, chat("hello"))
            assert upstream.request_seen.wait(REACTION_S)
            assert not upstream.peer_closed.is_set()
            client.close()
            assert upstream.peer_closed.wait(REACTION_S), "the upstream request was not aborted"
            # The proxy keeps serving after the aborted exchange.
            assert _get_live(proxy.port) == 200
    finally:
        upstream.close()


@pytest.mark.parametrize("stream_mode", ["pass-through", "inspect"])
def test_disconnect_mid_stream_aborts_the_upstream(tmp_path, stream_mode):
    # Longer than streaming.maxMatchBytes, so inspection releases most of it at once.
    words = "Hello there " * 100
    first_frame = (b'data: {"choices":[{"index":0,"delta":{"content":"' + words.encode()
                   + b'"}}]}\n\n')
    upstream = SilentUpstream(STREAM_HEAD + _chunk(first_frame))
    try:
        with running_proxy(_workdir(tmp_path, upstream, stream_mode)) as proxy:
            client = _post(proxy.port, chat("hello", stream=True))
            client.settimeout(REACTION_S)
            received = b""
            while b"Hello there" not in received:
                piece = client.recv(65536)
                assert piece, "the proxy closed the stream before the first frame"
                received += piece
            assert received.startswith(b"HTTP/1.1 200")
            assert not upstream.peer_closed.is_set()
            client.close()
            assert upstream.peer_closed.wait(REACTION_S), "the upstream stream was not aborted"
            audit = [json.loads(line) for line in proxy.audit_text().splitlines()]
    finally:
        upstream.close()
    assert upstream.request_head.startswith(b"POST /v1/chat/completions ")
    if stream_mode == "inspect":
        streams = [event for event in audit if event.get("decision") == "stream_inspected"]
        assert streams, "the cut-off stream was not audited"


def _get_live(port: int) -> int:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__haechi/live", timeout=10) as r:
        return r.status
