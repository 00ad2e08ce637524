"""The request pipeline of spec section 5, in its order.

correlation id -> backpressure -> forwarded-proto -> observability routes -> origin-form
target -> route -> authentication -> profile -> rate limit (all before any body byte is
read) -> bounded body read -> UTF-8 and JSON -> model allowlist -> streaming decision ->
protect -> forward -> response handling (see :mod:`haechi.proxy.responses` and
:mod:`haechi.proxy.streams`).

Every refusal is decided before a response is prepared, so status and headers still can
change; only an inspected stream can be refused after bytes were sent, and it then ends
with an error frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from typing import Any

from aiohttp import web

from haechi.canonical import short_hash
from haechi.errors import NestingTooDeep
from haechi.jsoncodec import dumps_compact, loads
from haechi.proxy.bind import forwarded_proto_is_https
from haechi.proxy.body import BodyTooLarge, read_capped
from haechi.proxy.exchange import Exchange
from haechi.proxy.gates import authenticate, rate_allowed
from haechi.proxy.logs import log_fields
from haechi.proxy.observability import OBSERVABILITY_PREFIX, OBSERVABILITY_ROUTES
from haechi.proxy.replies import error_reply, json_reply
from haechi.proxy.responses import forward_and_respond
from haechi.proxy.state import PROXY_STATE, ProxyState

__all__ = ["handle_request", "overloaded_reply"]

_MODEL_NAME = re.compile(r"[A-Za-z0-9._:/@+-]{1,128}")


async def handle_request(request: web.Request) -> web.StreamResponse:
    """The one aiohttp handler: every method and path arrives here."""
    state = request.app[PROXY_STATE]
    path = request.path
    is_own_route = path.startswith(OBSERVABILITY_PREFIX)
    limits = state.config.limits
    if (limits.max_in_flight and state.in_flight >= limits.max_in_flight
            and not (is_own_route and request.method == "GET")):
        state.metrics.overloaded.inc()
        return overloaded_reply(limits.shutdown_grace_ms)
    if state.require_forwarded_proto and not is_own_route and not forwarded_proto_is_https(
            request.headers):
        return error_reply(403, "haechi_forwarded_proto_required",
                           "X-Forwarded-Proto: https is required by proxy.trustForwardedProto")
    if request.method == "GET" and path in OBSERVABILITY_ROUTES:
        return await OBSERVABILITY_ROUTES[path](state)
    state.in_flight += 1
    try:
        return await _proxy(state, request)
    finally:
        state.in_flight -= 1


def overloaded_reply(shutdown_grace_ms: int) -> web.Response:
    retry_after = max(1, math.ceil(shutdown_grace_ms / 1000))
    return error_reply(503, "haechi_overloaded", "Server at max in-flight capacity; retry later",
                       headers={"Retry-After": str(retry_after)})


def _is_absolute_form(raw_target: str) -> bool:
    return not raw_target.startswith("/") or raw_target.startswith("//")


async def _proxy(state: ProxyState, request: web.Request) -> web.StreamResponse:
    if _is_absolute_form(request.raw_path):
        return error_reply(400, "haechi_invalid_proxy_target",
                           "Proxy request target must be origin-form path, not an absolute URL")
    exchange = Exchange(state, request, state.adapter.classify(request.method, request.path))
    try:
        return await _admit_and_forward(exchange)
    except Exception as exc:
        state.metrics.internal_error.inc()
        state.log.error("Internal proxy error", extra=log_fields(
            correlationId=exchange.correlation_id, errorName=type(exc).__name__,
            statusCode=500))
        return error_reply(500, "haechi_proxy_error", "Internal proxy error")
    finally:
        exchange.finish_timing()


async def _admit_and_forward(exchange: Exchange) -> web.StreamResponse:
    state, request = exchange.state, exchange.request
    outcome = await authenticate(state.authenticator, request)
    if outcome.denied:
        state.metrics.auth_denied.inc()
        exchange.count("auth_denied")
        exchange.audit_decision("auth_denied", outcome.reason, blocked=True)
        message = ("Authentication failed" if outcome.reason == "provider_error"
                   else "Authentication required")
        return error_reply(401, "haechi_auth_denied", message,
                           headers={"WWW-Authenticate": "Bearer"})
    exchange.identity = outcome.identity
    identity = outcome.identity or {}
    exchange.profile, exchange.policy = state.runtime.policies.resolve(
        tuple(identity.get("scopes") or ()), dict(identity.get("labels") or {}))

    rate = exchange.policy.rate_per_minute
    if rate is not None and not await rate_allowed(state.rate_limiter, outcome.identity, rate):
        state.metrics.rate_limited.inc()
        exchange.count("rate_limited")
        exchange.audit_decision("rate_limited", f"rate:{rate}", blocked=True)
        return error_reply(429, "haechi_rate_limited", "Rate limit exceeded")

    body = await _read_body(exchange)
    if isinstance(body, web.StreamResponse):
        return body
    return await _decide_and_forward(exchange, body)


async def _read_body(exchange: Exchange) -> Any:
    """The parsed JSON body, or the error response that refuses it."""
    state, request = exchange.state, exchange.request
    limit = state.config.limits.max_request_bytes
    timeout_ms = state.config.limits.effective_request_timeout_ms
    # A body that has fully arrived (the usual small request) needs no deadline.
    deadline = (asyncio.timeout(timeout_ms / 1000)
                if timeout_ms and not request.content.is_eof() else contextlib.nullcontext())
    try:
        async with deadline:
            raw = await read_capped(request.content, limit, request.content_length)
    except BodyTooLarge:
        response = error_reply(413, "haechi_request_body_too_large",
                               f"Request body exceeds limits.maxRequestBytes ({limit})",
                               headers={"Connection": "close"})
        # Unread bytes stay unread: the connection is torn down after this answer.
        response.force_close()
        return response
    except TimeoutError:
        response = error_reply(408, "haechi_request_timeout",
                               f"Request body not received within limits.requestTimeoutMs "
                               f"({timeout_ms})", headers={"Connection": "close"})
        response.force_close()
        return response
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return error_reply(400, "haechi_request_body_not_utf8", "Request body is not valid UTF-8")
    if not text.strip():
        return {}
    try:
        return loads(text)
    except RecursionError:
        return _too_deep(state.config.limits.max_nesting_depth)
    except ValueError as exc:
        # The parser's message names a position, never the content.
        return error_reply(400, "haechi_invalid_json_request", _parser_message(exc))


def _parser_message(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at position {exc.pos}"
    return "Invalid JSON"


def _model_message(model: str) -> str:
    """The reference echoes the model name; only a name that looks like one is echoed."""
    if _MODEL_NAME.fullmatch(model):
        return f"Model not allowed: {model}"
    return "Model not allowed"


def _too_deep(limit: int) -> web.Response:
    return error_reply(413, "haechi_request_too_deeply_nested",
                       f"Request JSON nesting exceeds limits.maxNestingDepth ({limit})")


async def _decide_and_forward(exchange: Exchange, body: Any) -> web.StreamResponse:
    state = exchange.state
    config = state.config
    fields = body if isinstance(body, dict) else {}

    model = fields.get("model")
    allowlist = exchange.policy.model_allowlist
    if isinstance(model, str) and allowlist is not None and model not in allowlist:
        exchange.count("model_not_allowed")
        # The reference puts the model name itself in the audit reason (its quirk 13).
        exchange.audit_decision("model_not_allowed", f"model:{short_hash(model)}", blocked=True)
        return error_reply(403, "haechi_model_not_allowed", _model_message(model))

    route = exchange.route
    stream_flag = fields.get("stream")
    streaming = stream_flag is True or (route.streams_by_default and stream_flag is not False)
    stream_mode = config.streaming.request_mode
    if streaming and stream_mode == "block":
        exchange.count("streaming_blocked")
        exchange.audit_decision("streaming_blocked", "streaming_request_mode_block", blocked=True)
        return error_reply(501, "haechi_streaming_unsupported",
                           "Streaming requests are refused (streaming.requestMode is block)")
    if streaming and stream_mode == "inspect" and route.stream_format is None:
        exchange.count("streaming_blocked")
        exchange.audit_decision("streaming_blocked", "streaming_uninspectable_route",
                                blocked=True)
        return error_reply(501, "haechi_streaming_uninspectable_route",
                           f"Route {route.route_id} has no stream format that can be inspected")

    if state.detokenizes:
        exchange.token_scope = state.runtime.vault.scope()
    context = exchange.context("request", exchange.request_mode)
    try:
        result = await state.batcher.protect(
            body, context, exchange.policy, services=_services(exchange, context))
    except NestingTooDeep as exc:
        return _too_deep(exc.limit)
    if result.blocked:
        state.metrics.blocks.inc()
        exchange.count("blocked")
        return json_reply(403, {"error": "haechi_policy_block", "summary": result.summary,
                                "auditId": result.audit_id})
    forwarded = dumps_compact(result.payload)
    return await forward_and_respond(exchange, forwarded,
                                     stream_mode=stream_mode if streaming else None)


def _services(exchange: Exchange, context: Any) -> Any:
    if exchange.token_scope is None:
        return None
    from haechi.services import RuntimeActionServices

    return RuntimeActionServices(exchange.state.runtime, context, exchange.token_scope)
