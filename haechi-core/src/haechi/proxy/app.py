"""The aiohttp application factory of the proxy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import nullcontext
from typing import Any

import aiohttp
from aiohttp import web

from haechi.errors import HaechiError
from haechi.proxy.batching import ProtectBatcher
from haechi.proxy.bind import check_bind
from haechi.proxy.gates import build_authenticator, build_rate_limiter
from haechi.proxy.handler import handle_request
from haechi.proxy.logs import LOGGER_NAME
from haechi.proxy.metrics import ProxyMetrics
from haechi.proxy.state import PROXY_STATE, Forwarding, ProxyState, detokenizes
from haechi.proxy.upstream import UpstreamClient
from haechi.runtime import known_names

__all__ = ["SERVER_OPTIONS", "any_rate", "create_app"]

#: aiohttp server options for the proxy. ``lingering_time=0``: after refusing an
#: oversized body the connection is closed at once instead of draining the rest of it.
#: ``handler_cancellation``: a client that goes away cancels its handler, which closes the
#: upstream request at once (aiohttp's default lets it run to the upstream timeout).
SERVER_OPTIONS = {"access_log": None, "lingering_time": 0, "handler_cancellation": True}

#: Connections kept to the upstream (aiohttp's default of 100 throttles a busy proxy).
UPSTREAM_CONNECTION_LIMIT = 512


def create_app(runtime: Any, *, allow_remote_bind: bool = False, host: str | None = None,
               tls: bool | None = None) -> web.Application:
    """Build the proxy app for ``runtime``.

    Everything that can be refused is refused here, before a socket is opened: the bind
    guard (``host`` defaults to ``proxy.host``), an unknown adapter or authenticator, a
    rate limit without a limiter. ``tls`` says whether the server will serve TLS itself
    (default: whether ``proxy.tls`` is set).
    """
    config = runtime.config
    require_forwarded_proto = check_bind(
        host or config.proxy.host,
        allow_remote_bind=allow_remote_bind,
        tls=config.proxy.tls is not None if tls is None else tls,
        trust_forwarded_proto=config.proxy.trust_forwarded_proto,
    )
    adapter_name = known_names(runtime.registries).adapter_for(config.target.type,
                                                               config.target.adapter)
    adapter_cls = runtime.registries.protocol_adapters.get(adapter_name)
    if adapter_cls is None:
        raise HaechiError(f"Unknown protocol adapter: {adapter_name}")
    metrics = ProxyMetrics()
    # The vault is opened now when the policy tokenizes or responses are detokenized (a
    # broken vault path stops start-up), and its writes then go with the protect batches.
    vault = runtime.vault if detokenizes(config) or _tokenizes(runtime) else None
    state = ProxyState(
        runtime=runtime,
        adapter=adapter_cls(),
        authenticator=build_authenticator(config.auth.provider,
                                          runtime.registries.authenticators, runtime),
        rate_limiter=build_rate_limiter(any_rate(runtime), runtime.registries.rate_limiters,
                                        runtime),
        metrics=metrics,
        forwarding=Forwarding.from_config(config),
        # Building the protector here also means a broken key file or audit path stops
        # start-up instead of failing the first request.
        batcher=ProtectBatcher(
            runtime.protector, runtime.audit, observe_size=metrics.protect_batch_size.observe,
            token_writes=vault.deferred_issues if vault is not None else nullcontext),
        log=logging.getLogger(LOGGER_NAME),
        require_forwarded_proto=require_forwarded_proto,
    )
    app = web.Application(client_max_size=config.limits.max_request_bytes)
    app[PROXY_STATE] = state
    app.cleanup_ctx.append(_upstream_session)
    app.router.add_route("*", "/{tail:.*}", handle_request)
    return app


def any_rate(runtime: Any) -> bool:
    """Whether the base policy or a profile sets ``policy.rate``."""
    policies = runtime.policies
    return policies.base.rate_per_minute is not None or any(
        policy.rate_per_minute is not None for policy in policies.profiles.values())


def _tokenizes(runtime: Any) -> bool:
    policies = runtime.policies
    return any("tokenize" in (*policy.actions.values(), policy.default_action)
               for policy in (policies.base, *policies.profiles.values()))


async def _upstream_session(app: web.Application) -> AsyncIterator[None]:
    """The upstream clients of one app: :class:`UpstreamClient` for whole exchanges and
    an aiohttp session for streams. Neither decodes compressed bodies (the compression
    gate sees them as they are), keeps cookies (a ``Set-Cookie`` from the upstream for one
    client must never travel upstream with another client's request) or adds a
    User-Agent of its own (the client's, if any, is forwarded)."""
    state = app[PROXY_STATE]
    state.upstream = UpstreamClient(state.forwarding.upstream_base,
                                    connection_limit=UPSTREAM_CONNECTION_LIMIT)
    connector = aiohttp.TCPConnector(limit=UPSTREAM_CONNECTION_LIMIT)
    state.session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                          cookie_jar=aiohttp.DummyCookieJar(),
                                          skip_auto_headers=("User-Agent",))
    try:
        yield
    finally:
        await state.session.close()
        state.session = None
        state.upstream.close()
        state.upstream = None
