"""Relaying streamed responses: ``pass-through`` (audited, byte-capped) and ``inspect``
(every frame through the stream filters of :mod:`haechi.proxy.streaming`).

Once a stream response is prepared its status and headers are sent, so a block found
later ends the stream with the filter's error frame (the reference just stops; its quirk
6). A client that goes away aborts the upstream request; the caller closes the upstream
response in every case.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from haechi.audit.events import stream_decision_event
from haechi.proxy.exchange import Exchange
from haechi.proxy.headers import downstream_headers
from haechi.proxy.streaming import StreamProtection, stream_filter_for

__all__ = ["relay_inspected", "relay_pass_through"]


async def relay_pass_through(exchange: Exchange, upstream: aiohttp.ClientResponse
                             ) -> web.StreamResponse:
    """Pipe the upstream body untouched, up to ``responseProtection.maxBytes``; past the
    cap the upstream is aborted and the client connection torn down mid-body."""
    state = exchange.state
    exchange.audit_decision("streaming_request_pass_through", None, blocked=False)
    exchange.count("forwarded")
    cap = state.config.response_protection.max_bytes
    response = web.StreamResponse(status=upstream.status,
                                  headers=downstream_headers(upstream.headers, rewritten=False))
    await response.prepare(exchange.request)
    sent = 0
    try:
        async for chunk in upstream.content.iter_any():
            sent += len(chunk)
            if sent > cap:
                state.metrics.stream_truncated.inc()
                _tear_down(exchange.request)
                return response
            await response.write(chunk)
    except ConnectionResetError:
        return response  # the client left; the caller aborts the upstream
    except (aiohttp.ClientPayloadError, TimeoutError):
        state.metrics.stream_truncated.inc()
        _tear_down(exchange.request)
        return response
    await response.write_eof()
    return response


async def relay_inspected(exchange: Exchange, upstream: aiohttp.ClientResponse
                          ) -> web.StreamResponse:
    state = exchange.state
    config = state.config
    mode = config.streaming.response_mode
    # Tokens issued while protecting the response stay out of the request's scope, so
    # the stream detokenizer never undoes the response's own protection.
    protection = StreamProtection.for_runtime(state.runtime, exchange.context("response", mode),
                                              exchange.policy)
    scope = exchange.token_scope
    stream_filter = stream_filter_for(
        exchange.route,
        **protection.as_kwargs(),
        window=config.streaming.max_match_bytes,
        detokenizer=scope.stream() if scope is not None else None,
        max_frame_bytes=config.response_protection.max_bytes,
    )
    response = web.StreamResponse(status=upstream.status,
                                  headers=downstream_headers(upstream.headers, rewritten=False))
    response.headers["Cache-Control"] = "no-store"
    await response.prepare(exchange.request)
    audited = False
    try:
        async for chunk in upstream.content.iter_any():
            await _send(response, stream_filter.feed(chunk))
            if stream_filter.blocked:
                break
        else:
            await _send(response, stream_filter.finish())
        audited = True
        audit_id = _audit_stream(exchange, stream_filter, mode, completed=True)
        if stream_filter.blocked:
            await _send(response, stream_filter.error_frame(audit_id=audit_id))
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client left; the caller aborts the upstream
    except (aiohttp.ClientPayloadError, TimeoutError):
        _tear_down(exchange.request)
    finally:
        if not audited:
            _audit_stream(exchange, stream_filter, mode, completed=False)
    return response


async def _send(response: web.StreamResponse, data: bytes) -> None:
    if data:
        await response.write(data)


def _audit_stream(exchange: Exchange, stream_filter: Any, mode: str, *,
                  completed: bool) -> str:
    """Write the stream's one decision event (kind C) and its detokenize count."""
    state = exchange.state
    decision = "stream_blocked" if stream_filter.blocked else "stream_inspected"
    if stream_filter.blocked:
        state.metrics.blocks.inc()
    if stream_filter.blocked or not completed:
        state.metrics.stream_truncated.inc()
    exchange.count(decision, mode)
    event = stream_decision_event(
        protocol=state.protocol,
        operation=f"{exchange.method} {exchange.route.route_id}",
        route_id=exchange.route.route_id,
        path=exchange.request.path,
        mode=mode,
        decision=decision,
        summary=stream_filter.summary,
        enforced=mode == "enforce",
        identity=exchange.identity,
        profile=exchange.profile,
        correlation_id=exchange.correlation_id,
    )
    audit_id = state.runtime.audit.record(event)["id"]
    scope = exchange.token_scope
    if scope is not None and scope.tokens:
        scope.audit_detokenize()
    return audit_id


def _tear_down(request: web.Request) -> None:
    """End the client connection without a proper end of body, so the client sees the
    response as incomplete rather than as a short but whole one."""
    if request.transport is not None:
        request.transport.close()
