"""Every status and error code of spec section 5, through the app in this process."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from haechi.proxy.batching import ProtectBatcher
from haechi.proxy.state import PROXY_STATE

from tests.core.proxy.conftest import (
    RAW_CARD,
    RAW_EMAIL,
    app_client,
    assert_no_raw_values,
    chat,
    make_workdir,
    run,
)


def _workdir(tmp_path, stub, edit=None, upstream=None):
    return make_workdir(tmp_path / "w", upstream or stub.url, edit)


async def _error(response, status: int, error: str) -> dict:
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/json")
    text = await response.text()
    assert text.endswith("\n") and text.startswith("{\n  ")  # pretty-printed
    body = json.loads(text)
    assert body["error"] == error
    return body


def test_absolute_form_target_is_refused(tmp_path, stub):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            host, port = client.server.host, client.server.port
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"POST http://evil.example/v1/chat/completions HTTP/1.1\r\n"
                         b"Host: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            await writer.drain()
            raw = await reader.read()
            writer.close()
            return raw
    raw = run(scenario())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"] == "haechi_invalid_proxy_target"


def test_invalid_json_non_utf8_and_empty_body(tmp_path, stub):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            bad = await client.post("/v1/chat/completions", data=b'{"a": ')
            body = await _error(bad, 400, "haechi_invalid_json_request")
            assert "position" in body["message"]
            nan = await client.post("/v1/chat/completions", data=b'{"a": NaN}')
            await _error(nan, 400, "haechi_invalid_json_request")
            latin = await client.post("/v1/chat/completions", data=b'{"a": "\xe9"}')
            await _error(latin, 400, "haechi_request_body_not_utf8")
            empty = await client.post("/v1/embeddings", data=b"")
            assert empty.status == 200
            assert (await empty.json())["body"] == {}  # an empty body is forwarded as {}
    run(scenario())


def test_policy_block_is_403_with_summary_and_audit_id(tmp_path, stub):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            stub.clear()
            response = await client.post("/v1/chat/completions",
                                         json=chat(f"my card is {RAW_CARD}"))
            body = await _error(response, 403, "haechi_policy_block")
            assert body["summary"]["byType"] == {"card": 1}
            assert body["auditId"]
            assert stub.requests() == []  # never forwarded
            return await response.text()
    text = run(scenario())
    assert_no_raw_values(text, (tmp_path / "w/.haechi/audit.jsonl").read_text())


def test_model_allowlist(tmp_path, stub):
    def edit(config):
        config["policy"]["modelAllowlist"] = ["gpt-ok"]

    async def scenario():
        async with app_client(_workdir(tmp_path, stub, edit)) as client:
            denied = await client.post("/v1/chat/completions", json={"model": "gpt-bad"})
            body = await _error(denied, 403, "haechi_model_not_allowed")
            assert body["message"] == "Model not allowed: gpt-bad"
            odd = await client.post("/v1/chat/completions", json={"model": RAW_EMAIL + " x"})
            assert RAW_EMAIL not in (await _error(odd, 403, "haechi_model_not_allowed"))[
                "message"]
            allowed = await client.post("/v1/chat/completions", json={"model": "gpt-ok",
                                                                       "messages": []})
            assert allowed.status == 200
            no_model = await client.post("/v1/embeddings", json={"input": "x"})
            assert no_model.status == 200  # checked only when body.model is a string
    run(scenario())
    audit = (tmp_path / "w/.haechi/audit.jsonl").read_text()
    assert "gpt-bad" not in audit  # the reason holds a hash of the model (quirk 13)
    assert '"decision":"model_not_allowed"' in audit


def test_body_over_the_cap_is_413_and_the_connection_closes(tmp_path, stub):
    def edit(config):
        config["limits"]["maxRequestBytes"] = 1000

    async def scenario():
        async with app_client(_workdir(tmp_path, stub, edit)) as client:
            declared = await client.post("/v1/chat/completions",
                                         data=json.dumps(chat("x" * 2000)))
            body = await _error(declared, 413, "haechi_request_body_too_large")
            assert body["message"] == "Request body exceeds limits.maxRequestBytes (1000)"
            assert declared.headers["Connection"] == "close"

            async def chunks():
                for _ in range(50):
                    yield b"x" * 100

            chunked = await client.post("/v1/chat/completions", data=chunks())
            await _error(chunked, 413, "haechi_request_body_too_large")

            # A raw socket announcing 50 MB: answered at once and closed, not drained.
            host, port = client.server.host, client.server.port
            sock = socket.create_connection((host, port))
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 52428800\r\n\r\n" + b"a" * 4096)
            loop = asyncio.get_running_loop()
            sock.settimeout(10)
            received = await loop.run_in_executor(None, _read_until_closed, sock)
            assert received.startswith(b"HTTP/1.1 413")
    run(scenario())


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    with sock:
        while True:
            part = sock.recv(65536)
            if not part:
                return data
            data += part


def test_nesting_depth_is_413(tmp_path, stub):
    def edit(config):
        config["limits"]["maxNestingDepth"] = 10

    async def scenario():
        async with app_client(_workdir(tmp_path, stub, edit)) as client:
            deep = "[" * 20 + "]" * 20
            response = await client.post("/v1/chat/completions",
                                         data='{"model":"m","x":' + deep + "}")
            await _error(response, 413, "haechi_request_too_deeply_nested")
            absurd = await client.post("/v1/chat/completions", data="[" * 100000)
            assert absurd.status in (400, 413)
    run(scenario())


def test_streaming_block_and_uninspectable_route(tmp_path, stub):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            blocked = await client.post("/v1/chat/completions", json=chat("hi", stream=True))
            await _error(blocked, 501, "haechi_streaming_unsupported")
        (tmp_path / "w").rename(tmp_path / "old")

        def inspect(config):
            config["streaming"]["requestMode"] = "inspect"
        async with app_client(_workdir(tmp_path, stub, inspect)) as client:
            response = await client.post("/v1/embeddings", json={"input": "x", "stream": True})
            await _error(response, 501, "haechi_streaming_uninspectable_route")
            metrics = await (await client.get("/__haechi/metrics")).text()
            assert 'decision="streaming_blocked"' in metrics
    run(scenario())


def test_upstream_unreachable_and_timeout(tmp_path, stub):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async def unreachable():
        workdir = _workdir(tmp_path, stub, upstream=f"http://127.0.0.1:{closed_port}")
        async with app_client(workdir) as client:
            response = await client.post("/v1/chat/completions", json=chat("hi"))
            await _error(response, 502, "haechi_upstream_unreachable")
    run(unreachable())
    (tmp_path / "w").rename(tmp_path / "old")

    def short_timeout(config):
        config["limits"]["upstreamTimeoutMs"] = 200

    async def timeout():
        async with app_client(_workdir(tmp_path, stub, short_timeout)) as client:
            response = await client.post("/v1/chat/completions?delay=3",
                                         json={"model": "slow", "messages": []})
            body = await _error(response, 504, "haechi_upstream_timeout")
            assert body["message"] == (
                "Upstream did not respond within limits.upstreamTimeoutMs (200)")
            metrics = await (await client.get("/__haechi/metrics")).text()
            assert "haechi_upstream_timeout_total 1.0" in metrics
    run(timeout())


def test_overloaded_is_503_with_retry_after_and_observability_is_exempt(tmp_path, stub):
    def edit(config):
        config["limits"]["maxInFlight"] = 1
        config["limits"]["shutdownGraceMs"] = 2500

    async def scenario():
        async with app_client(_workdir(tmp_path, stub, edit)) as client:
            slow = asyncio.ensure_future(client.post(
                "/v1/chat/completions?delay=1", json={"model": "slow", "messages": []}))
            await asyncio.sleep(0.3)
            busy = await client.post("/v1/chat/completions", json=chat("hi"))
            body = await _error(busy, 503, "haechi_overloaded")
            assert busy.headers["Retry-After"] == "3"
            assert body["message"] == "Server at max in-flight capacity; retry later"
            assert (await client.get("/__haechi/live")).status == 200
            assert (await slow).status == 200
            after = await client.post("/v1/chat/completions", json=chat("hi"))
            assert after.status == 200
    run(scenario())


def test_internal_error_is_500_without_detail(tmp_path, stub, caplog):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            state = client.app[PROXY_STATE]
            state.batcher = ProtectBatcher(_ExplodingProtector(), client.runtime.audit)
            response = await client.post("/v1/chat/completions", json=chat(RAW_EMAIL))
            body = await _error(response, 500, "haechi_proxy_error")
            assert body["message"] == "Internal proxy error"
    run(scenario())
    assert_no_raw_values(caplog.text)


class _ExplodingProtector:
    def assess_many(self, *args, **kwargs):
        raise ValueError(f"boom {RAW_EMAIL}")


@pytest.mark.parametrize("path", ["/__haechi/live", "/__haechi/health", "/__haechi/ready"])
def test_observability_routes(tmp_path, stub, path):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            response = await client.get(path)
            assert response.status == 200
            return await response.json()
    body = run(scenario())
    if path.endswith("health"):
        assert body["mode"] == "enforce"  # the effective mode (quirk 3)
    if path.endswith("ready"):
        assert body["checks"] == {"auditWritable": True}


def test_ready_is_503_when_the_audit_log_is_not_writable(tmp_path, stub):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            audit = tmp_path / "w" / ".haechi" / "audit.jsonl"
            if audit.exists():
                audit.unlink()
            audit.mkdir()  # a directory where the log file should be: not writable as a file
            response = await client.get("/__haechi/ready")
            return response.status, await response.json()
    status, body = run(scenario())
    assert status == 503
    assert body["ready"] is False and body["checks"] == {"auditWritable": False}
    assert body["reason"] == "audit_file_not_writable"


def test_metrics_text_and_disabled_metrics(tmp_path, stub):
    async def scenario():
        async with app_client(_workdir(tmp_path, stub)) as client:
            await client.post("/v1/chat/completions", json=chat("hi"))
            response = await client.get("/__haechi/metrics")
            assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            return await response.text()
    text = run(scenario())
    for name in ("haechi_requests_total", "haechi_blocks_total", "haechi_auth_denied_total",
                 "haechi_rate_limited_total", "haechi_upstream_timeout_total",
                 "haechi_upstream_error_total", "haechi_response_unprotected_total",
                 "haechi_internal_error_total", "haechi_overloaded_total",
                 "haechi_response_stream_truncated_total"):
        assert f"# TYPE {name} counter" in text
    assert 'haechi_requests_total{decision="forwarded",mode="enforce",route="chat-completions"}' \
        in text
    assert 'haechi_request_duration_seconds_bucket{le="0.005",route="chat-completions"}' in text
    # The request's protect call went through one batch of one call (no response
    # protection in this config).
    lines = text.splitlines()
    assert "haechi_protect_batch_size_count 1.0" in lines
    assert "haechi_protect_batch_size_sum 1.0" in lines
    assert 'haechi_protect_batch_size_bucket{le="1.0"} 1.0' in lines
    (tmp_path / "w").rename(tmp_path / "old")

    def disabled(config):
        config["metrics"]["enabled"] = False

    async def off():
        async with app_client(_workdir(tmp_path, stub, disabled)) as client:
            await _error(await client.get("/__haechi/metrics"), 404, "haechi_metrics_disabled")
    run(off())
