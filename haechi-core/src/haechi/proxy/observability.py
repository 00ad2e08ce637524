"""The unauthenticated ``GET /__haechi/*`` routes: liveness, readiness, health, metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from haechi import __version__
from haechi.proxy.metrics import METRICS_CONTENT_TYPE
from haechi.proxy.replies import error_reply, json_reply
from haechi.proxy.state import ProxyState

__all__ = ["OBSERVABILITY_PREFIX", "OBSERVABILITY_ROUTES"]

OBSERVABILITY_PREFIX = "/__haechi/"


async def _live(state: ProxyState) -> web.Response:
    return json_reply(200, {"ok": True, "version": __version__})


async def _ready(state: ProxyState) -> web.Response:
    writable, reason = state.runtime.audit.ready()
    body = {"ready": writable, "version": __version__, "checks": {"auditWritable": writable}}
    if reason is not None:
        body["reason"] = reason
    return json_reply(200 if writable else 503, body)


async def _health(state: ProxyState) -> web.Response:
    # The effective mode, not the top-level one (the reference's quirk 3).
    return json_reply(200, {"ok": True, "mode": state.config.effective_mode,
                            "version": __version__})


async def _metrics(state: ProxyState) -> web.Response:
    if not state.config.metrics.enabled:
        return error_reply(404, "haechi_metrics_disabled", "Metrics are disabled (metrics.enabled)")
    response = web.Response(status=200, body=state.metrics.render())
    response.headers["Content-Type"] = METRICS_CONTENT_TYPE
    return response


#: Exact paths answered for ``GET`` requests.
OBSERVABILITY_ROUTES: dict[str, Callable[[ProxyState], Awaitable[web.Response]]] = {
    "/__haechi/live": _live,
    "/__haechi/ready": _ready,
    "/__haechi/health": _health,
    "/__haechi/metrics": _metrics,
}
