"""The authentication and rate-limit seams run before the body is read; authorization is
forwarded only with ``auth.provider: none``; the header allowlist."""

from __future__ import annotations

import asyncio
import json

from haechi.proxy.headers import upstream_header_names, upstream_headers

from tests.core.proxy.conftest import app_client, chat, make_workdir, run
from tests.plugins import proxy_gates


def _with_auth(config):
    config["auth"]["provider"] = "test-header"
    config["policy"]["rate"] = {"requestsPerMinute": 2}


def test_auth_denials_happen_before_the_body_is_read(tmp_path, stub):
    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url, _with_auth),
                              extra_plugins=(proxy_gates,)) as client:
            stub.clear()

            # Headers announce a body that never comes: the answer must not wait for it.
            reader, writer = await asyncio.open_connection(client.server.host,
                                                           client.server.port)
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 5000\r\n\r\n{")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 401")
            writer.close()
            bad = await client.post("/v1/chat/completions", json=chat("hi"),
                                    headers={"Authorization": "Bearer nope"})
            assert bad.status == 401
            boom = await client.post("/v1/chat/completions", json=chat("hi"),
                                     headers={"X-Test-Identity": "boom"})
            assert (await boom.json())["message"] == "Authentication failed"
            assert stub.requests() == []

            ok = [await client.post("/v1/chat/completions", json=chat("hi"),
                                    headers={"X-Test-Identity": "alice",
                                             "Authorization": "Bearer secret-client-token"})
                  for _ in range(3)]
            assert [r.status for r in ok] == [200, 200, 429]
            assert (await ok[2].json())["error"] == "haechi_rate_limited"
            # authorization is the client's Haechi credential here: never forwarded.
            assert all("authorization" not in r["headers"] for r in stub.requests())
            other = await client.post("/v1/chat/completions", json=chat("hi"),
                                      headers={"X-Test-Identity": "bob"})
            assert other.status == 200  # a separate rate window per identity
            return await (await client.get("/__haechi/metrics")).text()
    metrics = run(scenario())
    assert "haechi_auth_denied_total 3.0" in metrics
    assert "haechi_rate_limited_total 1.0" in metrics
    audit = [json.loads(line) for line in
             (tmp_path / "w/.haechi/audit.jsonl").read_text().splitlines()]
    reasons = [e["reason"] for e in audit if e.get("decision") == "auth_denied"]
    assert reasons == ["no_token", "invalid_token", "provider_error"]
    limited = [e for e in audit if e.get("decision") == "rate_limited"]
    assert limited[0]["reason"] == "rate:2"
    assert limited[0]["identity"]["id"] == "tok_auth_alice"
    assert "scopes" not in json.dumps(audit)


def test_upstream_header_allowlist():
    client = {
        "Host": "proxy", "Content-Length": "10", "Cookie": "c=1", "Proxy-Authorization": "x",
        "Connection": "keep-alive", "Upgrade": "h2c", "X-Api-Key": "k", "Anthropic-Version": "v",
        "Anthropic-Beta": "b", "X-Goog-Api-Key": "g", "OpenAI-Organization": "o",
        "OpenAI-Beta": "ob", "Accept": "a", "User-Agent": "u", "Accept-Language": "l",
        "X-Custom": "c", "X-Other": "o", "Authorization": "Bearer t", "Content-Type": "text/x",
    }
    # target.forwardHeaders matches whatever the case it is written in.
    allowed = upstream_header_names(("X-Custom",), forward_authorization=False)
    forwarded = upstream_headers(client, allowed)
    names = {name.lower() for name in forwarded}
    assert names == {"x-api-key", "anthropic-version", "anthropic-beta", "x-goog-api-key",
                     "openai-organization", "openai-beta", "accept", "user-agent",
                     "accept-language", "x-custom", "content-type", "accept-encoding"}
    assert forwarded["Content-Type"] == "application/json"
    with_auth = upstream_headers(client, upstream_header_names(forward_authorization=True))
    assert with_auth["Authorization"] == "Bearer t"


def test_headers_through_the_proxy(tmp_path, stub):
    def edit(config):
        config["target"]["forwardHeaders"] = ["x-trace"]

    async def scenario():
        async with app_client(make_workdir(tmp_path / "w", stub.url, edit)) as client:
            response = await client.post(
                "/some/unknown/path?q=1", json={"x": 1},
                headers={"X-Trace": "t1", "Cookie": "session=1", "X-Dropped": "d",
                         "Authorization": "Bearer up"},
                skip_auto_headers=("User-Agent",))
            assert response.status == 200
            return await response.json()
    echoed = run(scenario())
    assert echoed["path"] == "/some/unknown/path" and echoed["query"] == "q=1"
    headers = echoed["headers"]
    assert headers["x-trace"] == "t1" and headers["authorization"] == "Bearer up"
    assert "cookie" not in headers and "x-dropped" not in headers
    # The client sent no User-Agent, and the proxy's HTTP client adds none of its own.
    assert "user-agent" not in headers


def test_upstream_cookies_are_never_replayed(tmp_path):
    """The upstream session keeps no cookie jar: a Set-Cookie answered to one client must
    not travel upstream with the next client's request."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    seen_cookies: list[str | None] = []

    async def upstream_handler(request: web.Request) -> web.Response:
        seen_cookies.append(request.headers.get("Cookie"))
        response = web.json_response({"choices": []})
        response.set_cookie("session", "client-a-secret")
        return response

    async def scenario():
        upstream_app = web.Application()
        upstream_app.router.add_post("/v1/chat/completions", upstream_handler)
        upstream = TestServer(upstream_app, host="127.0.0.1")
        await upstream.start_server()
        try:
            # A host name, not an IP: aiohttp's default jar ignores cookies of IP hosts.
            workdir = make_workdir(tmp_path / "w", f"http://localhost:{upstream.port}")
            async with app_client(workdir) as client:
                for _ in range(2):
                    response = await client.post("/v1/chat/completions", json=chat("hi"))
                    assert response.status == 200
        finally:
            await upstream.close()

    run(scenario())
    assert seen_cookies == [None, None]
