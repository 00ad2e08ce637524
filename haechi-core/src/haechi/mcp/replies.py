"""The JSON-RPC error replies of the MCP filter (spec section 10), in their exact shapes:
``{"jsonrpc": "2.0", "error": {"code", "message", "data"}, "id"}``.

Codes -32000 to -32003 are the reference's; -32004 is ours (tool pinning, decision 0010).
No reply carries a detected value: ``data`` holds a reason, a method name the peer sent
itself, an audit id and a summary of counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "BATCH_REASON",
    "invalid_jsonrpc",
    "method_not_allowed",
    "policy_block",
    "stdio_error",
    "tool_changed",
]

BATCH_REASON = "JSON-RPC batch messages are not supported by the MCP stdio filter"


def _error(code: int, message: str, data: Mapping[str, Any], message_id: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "error": {"code": code, "message": message, "data": dict(data)},
        "id": message_id,
    }


def stdio_error(reason: str) -> dict[str, Any]:
    """-32000: the message could not be read or protected (always ``id: null``)."""
    return _error(-32000, "haechi_mcp_stdio_error", {"reason": reason}, None)


def policy_block(message_id: Any, audit_id: str | None,
                 summary: Mapping[str, Any]) -> dict[str, Any]:
    """-32001: the policy blocked the message's params or result."""
    return _error(-32001, "haechi_policy_block", {"auditId": audit_id, "summary": summary},
                  message_id)


def invalid_jsonrpc(message_id: Any) -> dict[str, Any]:
    """-32002: ``jsonrpc`` is not ``"2.0"`` (with ``mcp.requireJsonRpc``)."""
    return _error(-32002, "haechi_mcp_invalid_jsonrpc",
                  {"reason": "MCP messages must use JSON-RPC 2.0"}, message_id)


def method_not_allowed(message_id: Any, method: str) -> dict[str, Any]:
    """-32003: the method is not in ``mcp.allowedMethods``."""
    return _error(-32003, "haechi_mcp_method_not_allowed", {"method": method}, message_id)


def tool_changed(message_id: Any, tool: str) -> dict[str, Any]:
    """-32004: ``tools/call`` of a tool whose definition changed after it was pinned
    (``mcp.pinTools: "enforce"``)."""
    return _error(-32004, "haechi_mcp_tool_changed",
                  {"tool": tool, "reason": "the tool's definition changed since it was pinned"},
                  message_id)
