"""MCP protection: the JSON-RPC line filter (``haechi mcp-stdio``) and the bidirectional
server wrapper (``haechi mcp-wrap``). See ``docs/mcp.md``."""

from __future__ import annotations

from haechi.mcp.filter import McpFilter, Outcome
from haechi.mcp.stdio import run_stdio
from haechi.mcp.wrap import STDERR_MODES, run_wrap

__all__ = ["STDERR_MODES", "McpFilter", "Outcome", "run_stdio", "run_wrap"]
