"""One proxied request: who sent it, where it goes, and how its decisions are recorded."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs
from aiohttp import web

from haechi.adapters.route import Route
from haechi.audit.events import new_event_id, proxy_decision_event
from haechi.pipeline import ProtectContext
from haechi.proxy.state import ProxyState

__all__ = ["Exchange"]


@attrs.define(eq=False)
class Exchange:
    """Per-request facts gathered along the pipeline and the helpers that use them."""

    state: ProxyState
    request: web.Request
    route: Route
    correlation_id: str = attrs.field(factory=new_event_id)
    started: float = attrs.field(factory=time.perf_counter)
    identity: Mapping[str, Any] | None = None
    profile: str | None = None
    policy: Any = None
    token_scope: Any = None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def request_mode(self) -> str:
        return self.state.config.effective_mode

    def context(self, direction: str, mode: str) -> ProtectContext:
        """The protect context; its AAD form binds tokens and envelopes to this route."""
        phase = "request" if direction == "request" else "response"
        extra: dict[str, Any] = {"routeId": self.route.route_id}
        if self.identity is not None and self.identity.get("id") is not None:
            extra["identityId"] = self.identity["id"]
        return ProtectContext(
            protocol=self.state.protocol,
            operation=f"{phase}:{self.method} {self.route.route_id}",
            direction=direction,  # type: ignore[arg-type]
            mode=mode,  # type: ignore[arg-type]
            correlation_id=self.correlation_id,
            identity=self.identity,
            profile=self.profile,
            extra=extra,
        )

    def audit_decision(self, decision: str, reason: str | None, *, blocked: bool,
                       mode: str | None = None) -> str:
        """Write a proxy decision event (kind B); returns its id."""
        event = proxy_decision_event(
            protocol=self.state.protocol,
            route_id=self.route.route_id,
            path=self.request.path,
            mode=mode or self.request_mode,
            decision=decision,
            reason=reason,
            blocked=blocked,
            identity=self.identity,
            profile=self.profile,
            correlation_id=self.correlation_id,
        )
        return self.state.runtime.audit.record(event)["id"]

    def count(self, decision: str, mode: str | None = None) -> None:
        self.state.metrics.request(decision, mode or self.request_mode, self.route.route_id)

    def finish_timing(self) -> None:
        self.state.metrics.duration(self.route.route_id, time.perf_counter() - self.started)
