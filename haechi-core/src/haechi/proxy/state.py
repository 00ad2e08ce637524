"""What one proxy app shares between its requests (kept under a ``web.AppKey``)."""

from __future__ import annotations

import logging
from typing import Any

import attrs
from aiohttp import ClientSession, ClientTimeout, web
from yarl import URL

from haechi.config.models import HaechiConfig
from haechi.proxy.batching import ProtectBatcher
from haechi.proxy.headers import upstream_header_names
from haechi.proxy.metrics import ProxyMetrics
from haechi.proxy.upstream import UpstreamClient

__all__ = ["PROXY_STATE", "Forwarding", "ProxyState", "detokenizes"]


@attrs.frozen
class Forwarding:
    """How requests go upstream, worked out once per app instead of once per request.

    :ivar upstream_base: ``target.upstream`` without its trailing slash; the request's raw
        path and query are appended as they came.
    :ivar target_prefix: the path of ``upstream_base`` (empty for none): the request target
        sent upstream is this prefix and the request's raw path and query.
    :ivar header_names: the client headers that may go upstream (see
        :func:`haechi.proxy.headers.upstream_header_names`).
    :ivar reply_timeout_s: a non-streamed exchange must complete within
        ``limits.upstreamTimeoutMs``.
    :ivar stream_timeout: a stream may run for long: the limit applies to connecting and
        to each read.
    """

    upstream_base: str
    target_prefix: str
    header_names: frozenset[str]
    reply_timeout_s: float
    stream_timeout: ClientTimeout

    @classmethod
    def from_config(cls, config: HaechiConfig) -> Forwarding:
        timeout_s = config.limits.upstream_timeout_ms / 1000
        upstream_base = config.target.upstream.rstrip("/")
        return cls(
            upstream_base=upstream_base,
            target_prefix=URL(upstream_base).raw_path.rstrip("/"),
            header_names=upstream_header_names(
                config.target.forward_headers or (),
                forward_authorization=config.auth.provider == "none"),
            reply_timeout_s=timeout_s,
            stream_timeout=ClientTimeout(total=None, sock_connect=timeout_s,
                                         sock_read=timeout_s),
        )


@attrs.define(eq=False)
class ProxyState:
    """The runtime and the components built for one app.

    :ivar batcher: protects the requests' and responses' payloads (see
        :mod:`haechi.proxy.batching`).
    :ivar require_forwarded_proto: a remote plain-http bind behind a trusted TLS front:
        every proxied request must carry ``X-Forwarded-Proto: https``.
    :ivar upstream: the client of non-streamed upstream exchanges, open while the app runs.
    :ivar session: aiohttp's client session for streamed exchanges, open while the app runs.
    :ivar in_flight: proxied requests being handled now (for ``limits.maxInFlight``).
    """

    runtime: Any
    adapter: Any
    authenticator: Any
    rate_limiter: Any
    metrics: ProxyMetrics
    log: logging.Logger
    forwarding: Forwarding
    batcher: ProtectBatcher
    require_forwarded_proto: bool = False
    upstream: UpstreamClient | None = None
    session: ClientSession | None = None
    in_flight: int = 0

    @property
    def config(self) -> HaechiConfig:
        return self.runtime.config

    @property
    def protocol(self) -> str:
        return self.adapter.NAME

    @property
    def detokenizes(self) -> bool:
        return detokenizes(self.config)


def detokenizes(config: Any) -> bool:
    """Request-scoped detokenization is on (it needs response protection)."""
    return config.token_vault.detokenize_responses and config.response_protection.enabled


PROXY_STATE = web.AppKey("haechi_proxy_state", ProxyState)
