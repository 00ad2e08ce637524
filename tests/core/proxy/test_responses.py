"""Response handling: the size cap, the compression / content-type / JSON gates under
fail-closed and allow, and streaming pass-through."""

from __future__ import annotations

import json

import pytest

from tests.core.proxy.conftest import app_client, chat, make_workdir, run


def _protected(failure_mode: str, max_bytes: int = 1048576, stream_mode: str = "block"):
    def edit(config):
        config["responseProtection"].update(enabled=True, failureMode=failure_mode,
                                            maxBytes=max_bytes)
        config["streaming"]["requestMode"] = stream_mode
    return edit


def _audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in
            (tmp_path / "w/.haechi/audit.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("model", "reason"), [
    ("nonjson", "non_json_response"),
    ("gzip", "compressed_response"),
])
def test_fail_closed_refuses_what_cannot_be_inspected(tmp_path, stub, model, reason):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url,
                                           _protected("fail-closed"))) as client:
            response = await client.post("/v1/chat/completions",
                                         json={"model": model, "messages": []})
            assert response.status == 502
            return await response.json()
    body = run(scenario())
    assert body == {"error": "haechi_response_unprotected", "reason": reason,
                    "message": body["message"]}
    decisions = [(e["decision"], e["reason"]) for e in _audit(tmp_path) if "decision" in e]
    assert decisions == [("response_unprotected_blocked", reason)]


def test_allow_passes_the_raw_body_and_audits_it(tmp_path, stub):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url,
                                           _protected("allow"))) as client:
            response = await client.post("/v1/chat/completions",
                                         json={"model": "nonjson", "messages": []})
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            return await response.text()
    assert run(scenario()) == "plain text answer"
    decisions = [e["decision"] for e in _audit(tmp_path) if "decision" in e]
    assert decisions == ["response_unprotected_allowed"]


@pytest.mark.parametrize("failure_mode", ["fail-closed", "allow"])
def test_the_size_cap_holds_even_under_allow(tmp_path, stub, failure_mode):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url,
                                           _protected(failure_mode, 10_000))) as client:
            response = await client.post("/v1/chat/completions?bytes=50000",
                                         json={"model": "big", "messages": []})
            assert response.status == 502
            return await response.json()
    body = run(scenario())
    assert (body["error"], body["reason"]) == ("haechi_response_too_large",
                                               "response_body_too_large")


def test_unprotected_routes_still_cap_the_body(tmp_path, stub):
    def edit(config):
        config["responseProtection"]["maxBytes"] = 10_000

    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url, edit)) as client:
            small = await client.post("/v1/chat/completions", json=chat("hi"))
            assert small.status == 200 and "Cache-Control" not in small.headers
            big = await client.post("/v1/chat/completions?bytes=50000",
                                    json={"model": "big", "messages": []})
            assert big.status == 502
    run(scenario())


def test_protected_response_headers(tmp_path, stub):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url,
                                           _protected("fail-closed"))) as client:
            response = await client.post("/v1/chat/completions", json=chat("hi"))
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["Content-Type"] == "application/json"
            raw = await response.read()
            assert raw.endswith(b"}\n") and b"\n" not in raw[:-1]  # compact + newline
    run(scenario())


def test_pass_through_streams_are_audited_and_capped(tmp_path, stub):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url,
                                           _protected("fail-closed", 20_000,
                                                      "pass-through"))) as client:
            short = await client.post("/v1/chat/completions",
                                      json={**chat("hi"), "stream": True})
            text = await short.text()
            assert "data: [DONE]" in text
            long = await client.post("/v1/chat/completions?frames=5000",
                                     json={"model": "frames", "messages": [], "stream": True})
            with pytest.raises(Exception):  # noqa: B017 - the connection is cut mid-body
                await long.read()
    run(scenario())
    decisions = [e["decision"] for e in _audit(tmp_path) if "decision" in e]
    assert decisions == ["streaming_request_pass_through"] * 2


def test_an_upstream_json_error_on_a_stream_request_is_protected_as_json(tmp_path, stub):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url,
                                           _protected("fail-closed", stream_mode="inspect"))
                              ) as client:
            response = await client.post("/v1/chat/completions?bytes=10",
                                         json={"model": "big", "stream": True, "messages": []})
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            return await response.json()
    assert run(scenario()) == {"filler": "x" * 10}
