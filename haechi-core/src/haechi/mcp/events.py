"""Audit decision events of the MCP filter.

They follow the shape of the proxy's decision events (spec section 7, kind B) with
``operation: "mcp:<decision>"`` and ``protocol: "mcp-stdio"``. Nothing a peer sent is
stored as is: methods and tool names appear only as ``shortHash`` values, and tool
definitions only as SHA-256 pins.

Decisions: ``parse_error``, ``batch_refused``, ``line_too_long``, ``invalid_jsonrpc``,
``method_not_allowed``, ``protect_failed``, ``tools_pinned``, ``tool_changed``,
``tool_call_refused``, ``stderr_line_protected``, ``stderr_line_dropped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from haechi.audit.events import iso_timestamp, new_event_id

__all__ = ["MCP_PROTOCOL", "Origin", "mcp_decision_event"]

MCP_PROTOCOL = "mcp-stdio"

#: Which peer sent a message: the MCP client (our stdin) or the server (the child).
Origin = Literal["client", "server"]


def mcp_decision_event(
    *,
    decision: str,
    reason: str,
    origin: Origin,
    mode: str,
    blocked: bool,
    profile: str | None = None,
    summary: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One decision event. ``summary`` defaults to ``byAction: {<decision>: 1}``;
    ``details`` adds audit-safe fields (hashes and counts only)."""
    event: dict[str, Any] = {
        "id": new_event_id(),
        "correlationId": None,
        "timestamp": iso_timestamp(),
        "protocol": MCP_PROTOCOL,
        "operation": f"mcp:{decision}",
        "mode": mode,
        "identity": None,
        "profile": profile,
        "enforced": True,
        "blocked": blocked,
        "decision": decision,
        "reason": reason,
        "origin": origin,
        "summary": dict(summary) if summary is not None
        else {"detectionCount": 0, "byType": {}, "byAction": {decision: 1}},
    }
    if details:
        event.update(details)
    return event
