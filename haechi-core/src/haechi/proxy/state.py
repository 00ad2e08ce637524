"""What one proxy app shares between its requests (kept under a ``web.AppKey``)."""

from __future__ import annotations

import logging
from typing import Any

import attrs
from aiohttp import ClientSession, web

from haechi.config.models import HaechiConfig
from haechi.proxy.metrics import ProxyMetrics

__all__ = ["PROXY_STATE", "ProxyState"]


@attrs.define(eq=False)
class ProxyState:
    """The runtime and the components built for one app.

    :ivar require_forwarded_proto: a remote plain-http bind behind a trusted TLS front:
        every proxied request must carry ``X-Forwarded-Proto: https``.
    :ivar session: the upstream client session, open while the app runs.
    :ivar in_flight: proxied requests being handled now (for ``limits.maxInFlight``).
    """

    runtime: Any
    adapter: Any
    authenticator: Any
    rate_limiter: Any
    metrics: ProxyMetrics
    log: logging.Logger
    require_forwarded_proto: bool = False
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
        """Request-scoped detokenization is on (it needs response protection)."""
        return (self.config.token_vault.detokenize_responses
                and self.config.response_protection.enabled)


PROXY_STATE = web.AppKey("haechi_proxy_state", ProxyState)
