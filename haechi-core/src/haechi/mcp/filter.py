"""The JSON-RPC message filter of spec section 10, shared by ``mcp-stdio`` and
``mcp-wrap``.

One message (one line) at a time, in this order:

1. read: UTF-8, JSON, an object (a batch or any other value is refused with -32000);
2. ``jsonrpc`` must be ``"2.0"`` when ``mcp.requireJsonRpc`` (-32002);
3. a method sent by the client must be in ``mcp.allowedMethods`` (-32003);
4. ``tools/call`` of a tool whose pinned definition changed is refused when
   ``mcp.pinTools`` is ``"enforce"`` (-32004, see :mod:`haechi.mcp.pinning`);
5. ``params`` are protected in the request direction (operation: the method);
6. a ``result`` is protected in the response direction (operation ``result``), so the
   injection rules apply to tool output, and an ``error`` object likewise (operation
   ``error``); a result answering one of the client's requests then has that request's
   tokens restored (``tokenVault.detokenizeResponses``);
7. a policy block is answered -32001 with the message's id.

Where a refusal goes (decision 0010): a refused *notification* is dropped silently; a
refused *request* is answered to its sender; a refused *response* is replaced by the
error, which goes on to the peer waiting for that id; a message that could not be read
at all gets a -32000 error with ``id: null`` sent to the client.

A message that nothing changed is passed on byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from haechi.canonical import short_hash
from haechi.errors import HaechiError
from haechi.jsoncodec import dumps_compact, loads
from haechi.mcp import replies
from haechi.mcp.events import MCP_PROTOCOL, Origin, mcp_decision_event
from haechi.mcp.methods import MethodNames
from haechi.mcp.pending import PendingRequest, PendingRequests
from haechi.mcp.pinning import PinMode, ToolPins
from haechi.pipeline import ProtectContext, ProtectResult
from haechi.services import RuntimeActionServices
from haechi.vault.detokenize import detokenize_document

if TYPE_CHECKING:
    from haechi.runtime import Runtime

__all__ = ["McpFilter", "Outcome"]

@attrs.frozen
class Outcome:
    """What becomes of one message: ``forward`` goes on to the other peer, ``reply``
    goes back to the sender (each one line, without its newline). Both None: dropped."""

    forward: bytes | None = None
    reply: bytes | None = None


_DROP = Outcome()


class McpFilter:
    """Filters the messages of one MCP connection.

    :param session: True for ``mcp-wrap``, which sees both directions of one session: it
        remembers pending client requests (for token restoration and tool pinning).
        ``mcp-stdio`` sees one direction only and treats every message as the client's.
    """

    def __init__(self, runtime: Runtime, *, session: bool) -> None:
        config = runtime.config
        self._runtime = runtime
        self._profile, self._policy = runtime.policies.resolve((), {})
        self._mode = config.effective_mode
        self._methods = MethodNames(config.mcp.allowed_methods)
        self._protect_params = config.mcp.protect_params
        self._protect_results = config.mcp.protect_results
        self._require_jsonrpc = config.mcp.require_json_rpc
        self._scan_response_numbers = config.response_protection.scan_numbers
        self._pin_mode: PinMode = config.mcp.pin_tools if session else "off"
        self._pins = ToolPins() if self._pin_mode != "off" else None
        self._detokenize = (session and config.token_vault.detokenize_responses
                            and self._protect_results)
        self._pending = PendingRequests() if session else None
        self.max_line_bytes = config.mcp.max_line_bytes

    # -- entry points ----------------------------------------------------------------------

    def handle(self, line: bytes, origin: Origin) -> Outcome:
        """Filter one line sent by ``origin``."""
        if not line.strip():
            return _DROP
        try:
            message = loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            return self._unreadable(origin, "parse_error", "not_utf8",
                                    "MCP message is not valid UTF-8")
        except (ValueError, RecursionError):
            return self._unreadable(origin, "parse_error", "invalid_json",
                                    "MCP message is not valid JSON")
        if isinstance(message, list):
            return self._unreadable(origin, "batch_refused", "jsonrpc_batch",
                                    replies.BATCH_REASON)
        if not isinstance(message, dict):
            return self._unreadable(origin, "parse_error", "not_an_object",
                                    "MCP message must be a JSON object")
        try:
            return self._route(message, line, origin)
        except HaechiError as exc:
            # Messages of HaechiError never hold a detected value (errors.py).
            return self._unreadable(origin, "protect_failed", type(exc).__name__, str(exc))
        except Exception as exc:  # fail closed: a message we could not protect never passes
            return self._unreadable(origin, "protect_failed", type(exc).__name__,
                                    "the MCP message could not be protected")

    def oversize(self, origin: Origin) -> Outcome:
        """A line longer than ``max_line_bytes`` was discarded."""
        return self._unreadable(
            origin, "line_too_long", f"max_line_bytes:{self.max_line_bytes}",
            f"MCP message exceeds the maximum line size of {self.max_line_bytes} bytes",
        )

    # -- the steps -------------------------------------------------------------------------

    def _route(self, message: dict[str, Any], raw: bytes, origin: Origin) -> Outcome:
        method = message.get("method")
        if "method" in message and not isinstance(method, str):
            return self._unreadable(origin, "parse_error", "method_not_a_string",
                                    "JSON-RPC method must be a string")
        message_id = message.get("id")
        rejection = _Rejection(is_request=method is not None, is_notification=(
            method is not None and "id" not in message))

        if self._require_jsonrpc and message.get("jsonrpc") != "2.0":
            self._decision("invalid_jsonrpc", "jsonrpc_version", origin, blocked=True)
            return rejection.outcome(replies.invalid_jsonrpc(message_id))
        if method is not None and origin == "client":
            refused = self._client_gate(method, message, message_id, rejection)
            if refused is not None:
                return refused

        changed = False
        if method is not None:
            changed = self._protect_params_of(message, method, origin, rejection)
            if isinstance(changed, Outcome):
                return changed
        else:
            pending = (self._pending.pop(message_id)
                       if self._pending is not None and origin == "server" and "id" in message
                       else None)
            changed = self._protect_response(message, pending, rejection)
            if isinstance(changed, Outcome):
                return changed
        return Outcome(forward=dumps_compact(message) if changed else raw)

    def _client_gate(self, method: str, message: dict[str, Any], message_id: Any,
                     rejection: _Rejection) -> Outcome | None:
        if not self._methods.allowed(method):
            self._decision("method_not_allowed", f"method:{short_hash(method)}", "client",
                           blocked=True, details={"methodHash": short_hash(method)})
            return rejection.outcome(replies.method_not_allowed(message_id, method))
        if method == "tools/call" and self._pin_mode == "enforce" and self._pins is not None:
            params = message.get("params")
            tool = params.get("name") if isinstance(params, dict) else None
            if isinstance(tool, str) and self._pins.is_changed(tool):
                self._decision("tool_call_refused", "tool_changed", "client", blocked=True,
                               details={"toolNameHash": short_hash(tool)})
                return rejection.outcome(replies.tool_changed(message_id, tool))
        return None

    def _protect_params_of(self, message: dict[str, Any], method: str, origin: Origin,
                           rejection: _Rejection) -> bool | Outcome:
        scope = None
        if origin == "client" and not rejection.is_notification and self._detokenize:
            scope = self._runtime.vault.scope()
        changed = False
        if self._protect_params and "params" in message:
            result = self._protect(message["params"], self._methods.audit_name(method),
                                   "request", scope)
            if result.blocked:
                return rejection.outcome(
                    replies.policy_block(message.get("id"), result.audit_id, result.summary))
            if result.changed:
                message["params"] = result.payload
                changed = True
        if origin == "client" and not rejection.is_notification and self._pending is not None:
            self._pending.add(message.get("id"), PendingRequest(method=method, scope=scope))
        return changed

    def _protect_response(self, message: dict[str, Any], pending: PendingRequest | None,
                          rejection: _Rejection) -> bool | Outcome:
        changed = False
        if "result" in message:
            changed = self._check_pins(message["result"], pending)
            if self._protect_results:
                protected = self._protect_member(message, "result", rejection)
                if isinstance(protected, Outcome):
                    return protected
                changed = changed or protected
                if pending is not None and pending.scope is not None:
                    message["result"], tally = detokenize_document(message["result"],
                                                                   pending.scope)
                    changed = changed or tally.restored > 0
                    if pending.scope.tokens:
                        pending.scope.audit_detokenize()
        if "error" in message and self._protect_results:
            protected = self._protect_member(message, "error", rejection)
            if isinstance(protected, Outcome):
                return protected
            changed = changed or protected
        return changed

    def _protect_member(self, message: dict[str, Any], key: str,
                        rejection: _Rejection) -> bool | Outcome:
        """Protect ``message[key]`` in the response direction (operation ``key``): the
        block reply when it is blocked, else whether it was rewritten."""
        result = self._protect(message[key], key, "response")
        if result.blocked:
            return rejection.outcome(
                replies.policy_block(message.get("id"), result.audit_id, result.summary))
        if result.changed:
            message[key] = result.payload
        return result.changed

    def _check_pins(self, result: Any, pending: PendingRequest | None) -> bool:
        """Pin the tools of a ``tools/list`` result; in enforce mode remove changed tools.
        Returns whether the result was edited."""
        if self._pins is None or pending is None or pending.method != "tools/list":
            return False
        tools = result.get("tools") if isinstance(result, dict) else None
        if not isinstance(tools, list):
            return False
        report = self._pins.observe(tools)
        enforce = self._pin_mode == "enforce"
        if report.pinned:
            self._decision(
                "tools_pinned", f"tools:{len(report.pinned)}", "server", blocked=False,
                details={"tools": [{"toolNameHash": short_hash(name), "pin": pin}
                                   for name, pin in report.pinned]},
            )
        for change in report.changed:
            self._decision("tool_changed", "definition_changed", "server", blocked=enforce,
                           details={"toolNameHash": change.name_hash, "pinned": change.pinned,
                                    "listed": change.listed})
        if not (enforce and report.changed):
            return False
        refused = {change.name for change in report.changed}
        result["tools"] = [tool for tool in tools
                           if not (isinstance(tool, dict) and tool.get("name") in refused)]
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _protect(self, document: Any, operation: str, direction: str,
                 scope: Any = None) -> ProtectResult:
        context = ProtectContext(protocol=MCP_PROTOCOL, operation=operation,
                                 direction=direction, mode=self._mode, profile=self._profile)
        services = (RuntimeActionServices(self._runtime, context, scope)
                    if scope is not None else None)
        return self._runtime.protector.protect(
            document, context, self._policy,
            scan_numbers=direction == "request" or self._scan_response_numbers,
            services=services,
        )

    def _unreadable(self, origin: Origin, decision: str, reason_code: str,
                    reason: str) -> Outcome:
        self._decision(decision, reason_code, origin, blocked=True)
        error = dumps_compact(replies.stdio_error(reason))
        # The client is told in both cases: it is the only peer that reads our errors.
        return Outcome(reply=error) if origin == "client" else Outcome(forward=error)

    def _decision(self, decision: str, reason: str, origin: Origin, *, blocked: bool,
                  details: dict[str, Any] | None = None) -> None:
        self._runtime.audit.record(mcp_decision_event(
            decision=decision, reason=reason, origin=origin, mode=self._mode,
            blocked=blocked, profile=self._profile, details=details,
        ))


@attrs.frozen
class _Rejection:
    """Where the error for a refused message goes (see the module docstring)."""

    is_request: bool
    is_notification: bool

    def outcome(self, error: dict[str, Any]) -> Outcome:
        if self.is_notification:
            return _DROP
        encoded = dumps_compact(error)
        return Outcome(reply=encoded) if self.is_request else Outcome(forward=encoded)
