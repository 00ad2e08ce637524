"""The three callables a stream filter protects with, built from a runtime."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from haechi.findings import Match
    from haechi.pipeline import ProtectContext, ProtectResult
    from haechi.runtime import Runtime

__all__ = ["StreamProtection"]


@attrs.frozen
class StreamProtection:
    """``protect_text``/``protect_json`` run the protector without writing an audit event
    (the stream writes one event from the filter's summary); ``detect_text`` only scans,
    so the sliding window can look for matches without issuing tokens or ciphertexts.

    Pass them on with ``stream_filter_for(route, **protection.as_kwargs(), ...)``.
    """

    protect_text: Callable[[str], ProtectResult]
    protect_json: Callable[[Any], ProtectResult]
    detect_text: Callable[[str], Sequence[Match]]

    @classmethod
    def for_runtime(
        cls, runtime: Runtime, context: ProtectContext, policy: Any, *, services: Any = None
    ) -> StreamProtection:
        """``context`` is the response context (``direction="response"``, ``mode`` =
        ``streaming.responseMode``); ``services`` carries the request's token scope."""
        protector = runtime.protector
        engine = runtime.engine
        scan_numbers = runtime.config.response_protection.scan_numbers

        def protect(document: Any) -> ProtectResult:
            return protector.protect(document, context, policy, scan_numbers=scan_numbers,
                                     services=services, audit=False)

        def detect(text: str) -> Sequence[Match]:
            return engine.scan(text, context.direction)

        return cls(protect_text=protect, protect_json=protect, detect_text=detect)

    def as_kwargs(self) -> dict[str, Callable[..., Any]]:
        return {"protect_text": self.protect_text, "protect_json": self.protect_json,
                "detect_text": self.detect_text}
