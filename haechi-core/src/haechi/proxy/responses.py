"""Forwarding a protected request and handling the upstream's answer (spec section 5).

A non-streamed response is read with the ``responseProtection.maxBytes`` cap (always a
hard cap, even under ``failureMode: allow``). With response protection on, it then passes
three gates — compression, content type, JSON parse — and a failure answers 502 under
``fail-closed`` or passes the raw body under ``allow``; both outcomes are audited. The JSON
is protected in the response direction and, with ``tokenVault.detokenizeResponses``, this
request's tokens are restored.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from yarl import URL

from haechi.jsoncodec import dumps_compact, loads
from haechi.proxy.body import BodyTooLarge, read_capped
from haechi.proxy.exchange import Exchange
from haechi.proxy.headers import downstream_headers, upstream_headers
from haechi.proxy.replies import error_reply, json_reply
from haechi.proxy.streams import relay_inspected, relay_pass_through
from haechi.proxy.upstream import UpstreamFailed, UpstreamReply
from haechi.vault.detokenize import detokenize_document

__all__ = ["UNPROTECTED_MESSAGES", "forward_and_respond"]

UNPROTECTED_MESSAGES = {
    "response_body_too_large": "Upstream response exceeds responseProtection.maxBytes",
    "compressed_response": "Upstream response is compressed and cannot be inspected",
    "non_json_response": "Upstream response is not JSON and cannot be inspected",
    "invalid_json_response": "Upstream response is not valid JSON and cannot be inspected",
}


async def forward_and_respond(exchange: Exchange, body: bytes, *,
                              stream_mode: str | None) -> web.StreamResponse:
    """Send ``body`` upstream and answer the client. ``stream_mode`` is None for a
    non-streaming request, else ``pass-through`` or ``inspect``."""
    if stream_mode is None:
        return await _forward_whole(exchange, body)
    state, request = exchange.state, exchange.request
    config = state.config
    forwarding = state.forwarding
    url = URL(forwarding.upstream_base + request.raw_path, encoded=True)
    assert state.session is not None
    try:
        upstream = await state.session.request(
            request.method, url, data=body,
            headers=upstream_headers(request.headers, forwarding.header_names),
            timeout=forwarding.stream_timeout, allow_redirects=False)
    except TimeoutError:
        return _upstream_timeout(exchange)
    except (aiohttp.ClientError, OSError):
        return _upstream_failed(exchange)

    try:
        if _is_json(upstream):  # a whole answer after all
            return await _read_and_respond(exchange, upstream)
        if stream_mode == "pass-through":
            return await relay_pass_through(exchange, upstream)
        if _compressed(upstream) and not config.response_protection.allow_compressed:
            return _unprotected(exchange, "compressed_response")
        return await relay_inspected(exchange, upstream)
    except TimeoutError:
        return _upstream_timeout(exchange)
    except aiohttp.ClientPayloadError:
        return _upstream_failed(exchange)
    finally:
        upstream.close()


async def _forward_whole(exchange: Exchange, body: bytes) -> web.StreamResponse:
    """A non-streamed exchange, through :class:`haechi.proxy.upstream.UpstreamClient`:
    the answer is read whole, at most ``responseProtection.maxBytes`` of it."""
    state, request = exchange.state, exchange.request
    forwarding = state.forwarding
    assert state.upstream is not None
    headers = upstream_headers(request.headers, forwarding.header_names)
    try:
        async with asyncio.timeout(forwarding.reply_timeout_s):
            reply = await state.upstream.exchange(
                request.method, forwarding.target_prefix + request.raw_path, headers.items(),
                body, max_bytes=state.config.response_protection.max_bytes)
    except TimeoutError:
        return _upstream_timeout(exchange)
    except BodyTooLarge:
        return _unprotected(exchange, "response_body_too_large", hard_cap=True)
    except UpstreamFailed:
        return _upstream_failed(exchange)
    return await _respond(exchange, reply)


def _upstream_timeout(exchange: Exchange) -> web.Response:
    exchange.state.metrics.upstream_timeout.inc()
    ms = exchange.state.config.limits.upstream_timeout_ms
    return error_reply(504, "haechi_upstream_timeout",
                       f"Upstream did not respond within limits.upstreamTimeoutMs ({ms})")


def _upstream_failed(exchange: Exchange) -> web.Response:
    exchange.state.metrics.upstream_error.inc()
    return error_reply(502, "haechi_upstream_unreachable", "Upstream request failed")


def _is_json(upstream: aiohttp.ClientResponse | UpstreamReply) -> bool:
    return "application/json" in upstream.headers.get("Content-Type", "").lower()


def _compressed(upstream: aiohttp.ClientResponse | UpstreamReply) -> bool:
    encoding = upstream.headers.get("Content-Encoding", "identity").strip().lower()
    return encoding not in ("", "identity")


async def _read_and_respond(exchange: Exchange, upstream: aiohttp.ClientResponse
                            ) -> web.StreamResponse:
    rp = exchange.state.config.response_protection
    try:
        raw = await read_capped(upstream.content, rp.max_bytes, upstream.content_length)
    except BodyTooLarge:
        return _unprotected(exchange, "response_body_too_large", hard_cap=True)
    return await _respond(exchange, UpstreamReply(upstream.status, upstream.headers, raw))


async def _respond(exchange: Exchange, reply: UpstreamReply) -> web.StreamResponse:
    """Answer the client with the upstream's whole ``reply``, protected as configured."""
    state = exchange.state
    rp = state.config.response_protection
    protects = rp.enabled and exchange.route.protect_response
    if not protects:
        exchange.count("forwarded")
        return _raw(reply)

    if _compressed(reply) and not rp.allow_compressed:
        return _unprotected(exchange, "compressed_response", reply=reply)
    if not _is_json(reply):
        return _unprotected(exchange, "non_json_response", reply=reply)
    try:
        document = loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _unprotected(exchange, "invalid_json_response", reply=reply)

    context = exchange.context("response", rp.mode)
    # Tokens issued while protecting the response are not added to the request's scope:
    # detokenization must never undo the response's own protection.
    result = await state.batcher.protect(document, context, exchange.policy,
                                         scan_numbers=rp.scan_numbers)
    if result.blocked:
        state.metrics.blocks.inc()
        exchange.count("response_blocked", rp.mode)
        return json_reply(502, {"error": "haechi_response_policy_block",
                                "summary": result.summary, "auditId": result.audit_id})
    payload = result.payload
    if exchange.token_scope is not None:
        payload, _ = detokenize_document(payload, exchange.token_scope)
        if exchange.token_scope.tokens:
            await state.batcher.record(exchange.token_scope.detokenize_event())
    exchange.count("forwarded")
    return web.Response(status=reply.status, body=dumps_compact(payload) + b"\n",
                        headers=downstream_headers(reply.headers, rewritten=True))


def _raw(reply: UpstreamReply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body,
                        headers=downstream_headers(reply.headers, rewritten=False))


def _unprotected(exchange: Exchange, reason: str, *, reply: UpstreamReply | None = None,
                 hard_cap: bool = False) -> web.Response:
    """A response that could not be protected: refused (fail-closed, or always for the
    size cap) or passed raw (``failureMode: allow``). Audited and counted either way."""
    state = exchange.state
    rp = state.config.response_protection
    state.metrics.response_unprotected.inc()
    allowed = not hard_cap and rp.failure_mode == "allow" and reply is not None
    decision = "response_unprotected_allowed" if allowed else "response_unprotected_blocked"
    exchange.count(decision, rp.mode)
    exchange.audit_decision(decision, reason, blocked=not allowed, mode=rp.mode)
    if allowed:
        return _raw(reply)  # type: ignore[arg-type]  # allowed implies a reply
    error = "haechi_response_too_large" if hard_cap else "haechi_response_unprotected"
    return json_reply(502, {"error": error, "reason": reason,
                            "message": UNPROTECTED_MESSAGES[reason]})
