"""Tool pinning: notice when an MCP server changes a tool after the client saw it.

A server that was trusted when its tools were listed can later redefine one (a "rug
pull"): same name, new description or input schema, now carrying instructions for the
model. :class:`ToolPins` records a SHA-256 pin of each tool's name, description and input
schema the first time a ``tools/list`` result shows it, and reports every later listing
that differs. With ``mcp.pinTools: "enforce"`` the wrapper refuses a changed tool (it is
removed from listings and its calls are answered -32004) until the server lists it
unchanged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from haechi.canonical import canonicalize, short_hash

__all__ = ["PinMode", "PinReport", "ToolChange", "ToolPins", "tool_pin"]

PinMode = Literal["off", "audit", "enforce"]


def tool_pin(tool: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of the tool's name, description and input
    schema (an absent field counts as null)."""
    pinned = {
        "name": tool.get("name"),
        "description": tool.get("description"),
        "inputSchema": tool.get("inputSchema"),
    }
    return hashlib.sha256(canonicalize(pinned).encode("utf-8")).hexdigest()


@attrs.frozen
class ToolChange:
    """A listed tool whose pin differs from the one recorded first."""

    name: str = attrs.field(repr=False)
    pinned: str
    listed: str

    @property
    def name_hash(self) -> str:
        return short_hash(self.name)


@attrs.frozen
class PinReport:
    """What one ``tools/list`` result showed: tools pinned for the first time as
    ``(name, pin)`` pairs, and changed tools."""

    pinned: tuple[tuple[str, str], ...]
    changed: tuple[ToolChange, ...]


class ToolPins:
    """The pins of one MCP session (one wrapped server process)."""

    def __init__(self) -> None:
        self._pins: dict[str, str] = {}
        self._changed: set[str] = set()

    def observe(self, tools: Iterable[Any]) -> PinReport:
        """Compare one listing's tools with the pins (entries without a string ``name``
        are ignored: they cannot be called by name)."""
        pinned: list[tuple[str, str]] = []
        changed: list[ToolChange] = []
        for tool in tools:
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                continue
            name, pin = tool["name"], tool_pin(tool)
            known = self._pins.get(name)
            if known is None:
                self._pins[name] = pin
                pinned.append((name, pin))
            elif known != pin:
                self._changed.add(name)
                changed.append(ToolChange(name=name, pinned=known, listed=pin))
            else:
                self._changed.discard(name)
        return PinReport(pinned=tuple(pinned), changed=tuple(changed))

    def is_changed(self, name: str) -> bool:
        """Whether the last listing of ``name`` differed from its pin."""
        return name in self._changed
