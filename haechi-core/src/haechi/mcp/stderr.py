"""``mcp-wrap --stderr filter``: the child's stderr, protected line by line.

Servers log what they handle — arguments, file contents, upstream errors — so their
stderr can leak what the JSON-RPC filter protects. Each line is protected as text in the
response direction (spec section 10): in enforce mode it is rewritten, and a blocked line
is dropped; in the other modes it passes unchanged. Only lines with findings are audited
(one ``stderr_line_protected`` or ``stderr_line_dropped`` decision with the summary), so
a chatty server does not write an audit event per log line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haechi.mcp.events import MCP_PROTOCOL, mcp_decision_event
from haechi.pipeline import ProtectContext

if TYPE_CHECKING:
    from haechi.runtime import Runtime

__all__ = ["StderrFilter"]


class StderrFilter:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._profile, self._policy = runtime.policies.resolve((), {})
        self._context = ProtectContext(
            protocol=MCP_PROTOCOL, operation="stderr", direction="response",
            mode=runtime.config.effective_mode, profile=self._profile,
        )

    def line(self, raw: bytes) -> bytes | None:
        """The line to write (without its newline), or None to drop it."""
        text = raw.decode("utf-8", errors="replace")
        result = self._runtime.protector.protect(text, self._context, self._policy, audit=False)
        if result.findings:
            decision = "stderr_line_dropped" if result.blocked else "stderr_line_protected"
            self._runtime.audit.record(mcp_decision_event(
                decision=decision, reason="stderr_findings", origin="server",
                mode=self._context.mode, blocked=result.blocked, profile=self._profile,
                summary=result.summary,
            ))
        if result.blocked:
            return None
        return result.payload.encode("utf-8") if result.changed else raw

    def oversize(self, limit: int) -> bytes:
        """The notice written in place of a line longer than ``limit`` bytes."""
        self._runtime.audit.record(mcp_decision_event(
            decision="line_too_long", reason=f"max_line_bytes:{limit}", origin="server",
            mode=self._context.mode, blocked=True, profile=self._profile,
            details={"stream": "stderr"},
        ))
        return f"[haechi: a stderr line longer than {limit} bytes was dropped]".encode()
