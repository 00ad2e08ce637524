"""Method names as they may appear in the audit log.

A protect event's ``operation`` is the MCP method (spec section 7). A method name comes
from a peer, so only names known to be protocol vocabulary are written as they are: the
methods of the MCP specification and those the operator listed in ``mcp.allowedMethods``.
Any other name is written as ``method:<shortHash>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from haechi.canonical import short_hash

__all__ = ["MCP_METHODS", "MethodNames"]

MCP_METHODS = frozenset({
    "initialize", "ping",
    "tools/list", "tools/call",
    "resources/list", "resources/templates/list", "resources/read",
    "resources/subscribe", "resources/unsubscribe",
    "prompts/list", "prompts/get",
    "logging/setLevel", "completion/complete",
    "sampling/createMessage", "elicitation/create", "roots/list",
    "notifications/initialized", "notifications/cancelled", "notifications/progress",
    "notifications/message", "notifications/resources/updated",
    "notifications/resources/list_changed", "notifications/tools/list_changed",
    "notifications/prompts/list_changed", "notifications/roots/list_changed",
})


class MethodNames:
    """The allowlist check and the audit-safe name of a method."""

    def __init__(self, allowed_methods: Iterable[str]) -> None:
        allowed = frozenset(allowed_methods)
        self._allow_all = "*" in allowed
        self._allowed = allowed - {"*"}
        self._printable = MCP_METHODS | self._allowed

    def allowed(self, method: str) -> bool:
        return self._allow_all or method in self._allowed

    def audit_name(self, method: str) -> str:
        return method if method in self._printable else f"method:{short_hash(method)}"
