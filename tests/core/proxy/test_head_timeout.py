"""``limits.headersTimeoutMs`` against slowloris clients, driven with raw sockets on a real
``haechi proxy``: a stalled or trickled head is cut with 408 ``haechi_headers_timeout``, a
silent connection is closed, while bodies, keep-alive pauses and ``null`` are left alone."""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from haechi.errors import HaechiError
from haechi.proxy.head_timeout import HeadTimeoutProtocol, check_aiohttp_seam, proxy_runner

from tests.core.proxy.conftest import (
    RAW_EMAIL,
    ProxyProcess,
    assert_no_raw_values,
    chat,
    make_workdir,
    run,
    tls_for_localhost,
)

HEADERS_TIMEOUT_MS = 300
#: Generous bound for "eventually closed"; never a timing assertion on the limit itself.
EVENTUALLY_S = 10.0
PARTIAL_HEAD = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nX-Note: " + RAW_EMAIL.encode())


def _limit(value: int | None, *, json_logs: bool = False):
    def edit(config: dict[str, Any]) -> None:
        config["limits"]["headersTimeoutMs"] = value
        if json_logs:
            config["logging"]["format"] = "json"
    return edit


@pytest.fixture(scope="module")
def limited(tmp_path_factory, stub) -> Iterator[ProxyProcess]:
    workdir = make_workdir(tmp_path_factory.mktemp("limited"), stub.url,
                           _limit(HEADERS_TIMEOUT_MS))
    proxy = ProxyProcess(workdir)
    try:
        yield proxy
    finally:
        proxy.stop()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=EVENTUALLY_S)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the proxy sends until it closes the connection (fails if it never does)."""
    deadline = time.monotonic() + EVENTUALLY_S
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail("the proxy did not close the connection")
        if not chunk:
            return received
        received += chunk


def _parse_reply(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in
               (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _assert_headers_timeout(raw: bytes) -> None:
    status, headers, body = _parse_reply(raw)
    assert status == 408
    assert headers["connection"].lower() == "close"
    assert headers["content-type"].startswith("application/json")
    assert int(headers["content-length"]) == len(body)
    assert json.loads(body) == {
        "error": "haechi_headers_timeout",
        "message": f"Request headers not received within limits.headersTimeoutMs "
                   f"({HEADERS_TIMEOUT_MS})"}
    assert RAW_EMAIL.encode() not in raw


def _full_request(body: bytes, *, path: str = "/v1/chat/completions") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _chat_body() -> bytes:
    return json.dumps(chat("hi")).encode()


def _is_open(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except ConnectionError:
        return False


# -- the slowloris cases ----------------------------------------------------------------------


def test_a_stalled_partial_head_gets_408_then_eof(limited):
    with _connect(limited.port) as sock:
        sock.sendall(PARTIAL_HEAD)
        _assert_headers_timeout(_read_until_closed(sock))


def test_a_trickled_head_is_cut_off_the_trickle_does_not_reset_the_clock(limited):
    """One byte every 50 ms: sending the whole head would take far longer than
    ``EVENTUALLY_S``, so only the proxy cutting the connection ends the loop in time."""
    head = PARTIAL_HEAD + b"x" * 400 + b"\r\nContent-Length: 2\r\n\r\n{}"
    sent = 0
    with _connect(limited.port) as sock:
        deadline = time.monotonic() + EVENTUALLY_S
        while True:
            assert time.monotonic() < deadline, "the trickled head was never cut off"
            if select.select([sock], [], [], 0)[0]:
                break  # the proxy answered: stop sending so its reply is not reset away
            try:
                sock.sendall(head[sent:sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                return  # cut while a byte was in flight: the reset is the cut-off
            sent += 1
            time.sleep(0.05)
        assert sent < len(head)
        try:
            reply = _read_until_closed(sock)
        except ConnectionResetError:
            return
        if reply:
            _assert_headers_timeout(reply)


def test_a_connection_that_sends_nothing_is_closed(limited):
    with _connect(limited.port) as sock:
        _assert_headers_timeout(_read_until_closed(sock))


# -- what is not counted ----------------------------------------------------------------------


def test_a_normal_request_still_works(limited):
    connection = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=EVENTUALLY_S)
    try:
        connection.request("POST", "/v1/chat/completions", body=_chat_body(),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        assert json.load(response)["choices"][0]["message"]["content"] == "You said: hi"
    finally:
        connection.close()


def test_the_idle_gap_between_keep_alive_requests_is_not_counted(limited):
    """A pause longer than the limit between two requests keeps the connection; the next
    request's clock then starts at its first byte."""
    with _connect(limited.port) as sock:
        for _ in range(2):
            sock.sendall(_full_request(_chat_body()))
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 200
            assert not response.will_close
            response.read()
            time.sleep(3 * HEADERS_TIMEOUT_MS / 1000)
            assert _is_open(sock)
        sock.sendall(PARTIAL_HEAD)
        _assert_headers_timeout(_read_until_closed(sock))


def test_a_slow_body_is_not_counted(limited):
    body = _chat_body()
    with _connect(limited.port) as sock:
        request = _full_request(body)
        sock.sendall(request[:-len(body)])  # the complete head, no body yet
        time.sleep(3 * HEADERS_TIMEOUT_MS / 1000)
        sock.sendall(body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        response.read()


def test_a_stall_behind_a_request_in_progress_ends_the_connection_after_its_answer(limited):
    """Pipelining: the second head stalls while the first request is answered. Its 408
    cannot overtake that answer, so the answer completes and the connection closes."""
    with _connect(limited.port) as sock:
        slow = json.dumps({"model": "slow", "messages": []}).encode()
        sock.sendall(_full_request(slow, path="/v1/chat/completions?delay=1.5"))
        time.sleep(0.1)
        sock.sendall(PARTIAL_HEAD)
        raw = _read_until_closed(sock)
    status, headers, body = _parse_reply(raw)
    assert status == 200
    assert len(body) == int(headers["content-length"])  # the whole answer, nothing after
    assert b"haechi_headers_timeout" not in raw


def test_null_means_no_limit(tmp_path, stub):
    proxy = ProxyProcess(make_workdir(tmp_path, stub.url, _limit(None)))
    try:
        with _connect(proxy.port) as sock:
            sock.sendall(PARTIAL_HEAD)
            time.sleep(1.0)
            assert _is_open(sock)
    finally:
        proxy.stop()


# -- TLS, workers, the log line ---------------------------------------------------------------


def test_tls_stalled_head_gets_408_and_one_log_line_without_raw_bytes(tmp_path, stub):
    serve_tls, context = tls_for_localhost(tmp_path)
    edit_limit = _limit(HEADERS_TIMEOUT_MS, json_logs=True)

    def edit(config: dict[str, Any]) -> None:
        edit_limit(config)
        serve_tls(config)

    proxy = ProxyProcess(make_workdir(tmp_path / "w", stub.url, edit))
    try:
        assert proxy.scheme == "https"
        with context.wrap_socket(_connect(proxy.port), server_hostname="127.0.0.1") as sock:
            sock.sendall(PARTIAL_HEAD)
            _assert_headers_timeout(_read_until_closed(sock))
    finally:
        output = proxy.stop()
    assert_no_raw_values(output)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    timeouts = [line for line in lines if line.get("error") == "haechi_headers_timeout"]
    assert len(timeouts) == 1
    assert timeouts[0]["statusCode"] == 408
    assert timeouts[0]["headersTimeoutMs"] == HEADERS_TIMEOUT_MS
    assert timeouts[0]["level"] == "warning"


def test_workers_enforce_it_too(tmp_path, stub):
    proxy = ProxyProcess(make_workdir(tmp_path, stub.url, _limit(HEADERS_TIMEOUT_MS)),
                         "--workers", "2")
    try:
        for _ in range(2):
            with _connect(proxy.port) as sock:
                sock.sendall(PARTIAL_HEAD)
                _assert_headers_timeout(_read_until_closed(sock))
    finally:
        proxy.stop()
    assert proxy.proc.returncode == 0


# -- the aiohttp seam -------------------------------------------------------------------------


async def _protocol_made_by(headers_timeout_ms: int | None) -> RequestHandler:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = proxy_runner(app, headers_timeout_ms, handle_signals=False)
    await runner.setup()
    try:
        assert runner.server is not None
        return runner.server()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("limit", [None, 0])
def test_no_limit_uses_aiohttps_own_protocol(limit):
    assert type(run(_protocol_made_by(limit))) is RequestHandler


def test_a_limit_puts_the_head_timeout_protocol_on_every_connection():
    assert isinstance(run(_protocol_made_by(HEADERS_TIMEOUT_MS)), HeadTimeoutProtocol)


def test_the_seam_check_refuses_an_aiohttp_whose_handler_changed(monkeypatch):
    check_aiohttp_seam()  # the installed aiohttp has what the protocol reads
    slots = tuple(name for name in RequestHandler.__slots__ if name != "_waiter")
    monkeypatch.setattr(RequestHandler, "__slots__", slots)
    with pytest.raises(HaechiError, match=re.escape("limits.headersTimeoutMs cannot be enforced")):
        check_aiohttp_seam()
    with pytest.raises(HaechiError, match="_waiter"):
        proxy_runner(web.Application(), HEADERS_TIMEOUT_MS)


def test_unset_timeouts_mean_node_defaults_and_zero_means_no_limit() -> None:
    """``null`` must not leave a server open to slow clients: like the reference on Node,
    it means 60 s for a head and 300 s for a request; only 0 turns a limit off."""
    from haechi.config.models import LimitsConfig

    unset = LimitsConfig()
    assert (unset.effective_headers_timeout_ms, unset.effective_request_timeout_ms) == (
        60_000, 300_000)
    off = LimitsConfig(headers_timeout_ms=0, request_timeout_ms=0)
    assert (off.effective_headers_timeout_ms, off.effective_request_timeout_ms) == (0, 0)
    set_ = LimitsConfig(headers_timeout_ms=250, request_timeout_ms=900)
    assert (set_.effective_headers_timeout_ms, set_.effective_request_timeout_ms) == (250, 900)
