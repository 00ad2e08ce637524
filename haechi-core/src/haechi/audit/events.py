"""Builders for the audit event kinds of the reference schema (spec section 7).

Every builder returns a plain ``dict`` in the reference's key order, ready for
:meth:`haechi.audit.AuditChain.record` (which sanitizes it and adds
``auditIntegrity``). Builders take only hashes, types, names and counts: a raw value
never has a parameter to arrive through.

- kind A, :func:`protect_event`: one per protected payload (``schemaVersion: "1"``);
- kind B, :func:`proxy_decision_event`: a proxy decision made without a payload verdict
  (auth denied, rate limited, model not allowed, pass-through, unprotected response);
- kind C, :func:`stream_decision_event`: the verdict on a streamed response.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from haechi.canonical import short_hash
from haechi.isotime import to_iso
from haechi.walk import walk_document

__all__ = [
    "PROTECT_SCHEMA_VERSION",
    "EventContext",
    "iso_timestamp",
    "new_event_id",
    "payload_shape_hash",
    "protect_event",
    "proxy_decision_event",
    "stream_decision_event",
]

PROTECT_SCHEMA_VERSION = "1"

StreamDecision = Literal["stream_blocked", "stream_inspected"]

_STREAM_REASONS: Mapping[str, str] = {
    "stream_blocked": "stream_policy_block",
    "stream_inspected": "stream_inspected",
}


class EventContext(Protocol):
    """What an event needs to know about where a payload came from (the pipeline's
    ``ProtectContext`` satisfies it)."""

    @property
    def protocol(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def correlation_id(self) -> str | None: ...
    @property
    def identity(self) -> Mapping[str, Any] | None: ...
    @property
    def profile(self) -> str | None: ...


#: ``(second, "YYYY-MM-DDTHH:MM:SS.")`` of the last second formatted, swapped as one
#: tuple so that threads never see a second paired with another second's text.
_second_prefix: tuple[int, str] = (-1, "")


def iso_timestamp() -> str:
    """Now, as JavaScript's ``new Date().toISOString()`` writes it
    (``2024-05-01T12:00:00.123Z``). Events of one second share its formatted prefix."""
    global _second_prefix
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached_second, prefix = _second_prefix
    if second != cached_second:
        prefix = to_iso(datetime.fromtimestamp(second, UTC))[:-4]
        _second_prefix = (second, prefix)
    return f"{prefix}{nanos // 1_000_000:03d}Z"


class _RandomPool:
    """Random bytes from the OS drawn 4 KiB at a time: one ``getrandom`` call per 256
    ids instead of one per id. The pool is emptied in a forked child, so two processes
    never hand out the same bytes."""

    _SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""

    def take(self, count: int) -> bytes:
        with self._lock:
            if len(self._pool) < count:
                self._pool = os.urandom(self._SIZE)
            chunk, self._pool = self._pool[:count], self._pool[count:]
        return chunk


_random = _RandomPool()


def new_event_id() -> str:
    """A random (version 4, RFC 4122 variant) UUID string for an event ``id`` or a
    correlation id, as ``str(uuid.uuid4())`` writes it, without building a ``UUID``."""
    digits = _random.take(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return (f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-"
            f"{digits[20:]}")


def payload_shape_hash(payload: Any) -> str:
    """``shortHash`` of the JSON text of the payload's shape.

    The shape keeps every object key (in JavaScript's property order, which is document
    order except that integer-like keys come first) and every array position, and
    replaces each string with ``{"type":"string","length":N}`` (``N`` in UTF-16 code units,
    as JavaScript counts) and each other leaf with ``{"type":T}`` where ``T`` is
    ``number``, ``boolean`` or ``null``. Two payloads with the same structure and string
    lengths share a hash; no value can be read back from it. The pipeline gets the same
    hash from its own walk of the payload (:func:`haechi.walk.walk_document`).
    """
    return walk_document(payload, max_depth=sys.maxsize, include_numbers=False).shape_hash


def protect_event(
    *,
    context: EventContext,
    enforced: bool,
    blocked: bool,
    shape_hash: str,
    detections: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """Kind A. ``shape_hash`` is the :func:`payload_shape_hash` of the document as received;
    ``detections`` are ``{type, ruleId, path, kind, confidence, action, enforced}``
    entries and ``summary`` is ``{detectionCount, byType, byAction, ...}``."""
    return {
        "schemaVersion": PROTECT_SCHEMA_VERSION,
        "id": new_event_id(),
        "correlationId": context.correlation_id,
        "timestamp": iso_timestamp(),
        "protocol": context.protocol,
        "operation": context.operation,
        "identity": _identity(context.identity),
        "profile": context.profile,
        "mode": context.mode,
        "enforced": enforced,
        "blocked": blocked,
        "payloadShapeHash": shape_hash,
        "detections": [dict(entry) for entry in detections],
        "summary": dict(summary),
    }


def proxy_decision_event(
    *,
    protocol: str,
    route_id: str,
    path: str,
    mode: str,
    decision: str,
    reason: str | None,
    blocked: bool,
    enforced: bool = True,
    identity: Mapping[str, Any] | None = None,
    profile: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """Kind B: a proxy decision (``auth_denied``, ``model_not_allowed``, ``rate_limited``,
    ``streaming_request_pass_through``, ``response_unprotected_allowed|blocked``). The
    request path is kept only as ``pathHash``."""
    return _decision_event(
        protocol=protocol,
        operation=f"proxy:{protocol}:{route_id}",
        route_id=route_id,
        path=path,
        mode=mode,
        decision=decision,
        reason=reason,
        blocked=blocked,
        enforced=enforced,
        identity=identity,
        profile=profile,
        correlation_id=correlation_id,
        summary={"detectionCount": 0, "byType": {}, "byAction": {decision: 1}},
    )


def stream_decision_event(
    *,
    protocol: str,
    operation: str,
    route_id: str,
    path: str,
    mode: str,
    decision: StreamDecision,
    summary: Mapping[str, Any],
    enforced: bool = True,
    identity: Mapping[str, Any] | None = None,
    profile: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """Kind C: the verdict on a streamed response; ``summary`` is tallied over the whole
    stream. ``operation`` is the protected operation (the event's operation becomes
    ``response-stream:<operation>``)."""
    if decision not in _STREAM_REASONS:
        raise ValueError(f"unknown stream decision: {decision}")
    return _decision_event(
        protocol=protocol,
        operation=f"response-stream:{operation}",
        route_id=route_id,
        path=path,
        mode=mode,
        decision=decision,
        reason=_STREAM_REASONS[decision],
        blocked=decision == "stream_blocked",
        enforced=enforced,
        identity=identity,
        profile=profile,
        correlation_id=correlation_id,
        summary=dict(summary),
    )


def _decision_event(
    *,
    protocol: str,
    operation: str,
    route_id: str,
    path: str,
    mode: str,
    decision: str,
    reason: str | None,
    blocked: bool,
    enforced: bool,
    identity: Mapping[str, Any] | None,
    profile: str | None,
    correlation_id: str | None,
    summary: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "correlationId": correlation_id,
        "timestamp": iso_timestamp(),
        "protocol": protocol,
        "operation": operation,
        "mode": mode,
        "identity": _identity(identity),
        "profile": profile,
        "enforced": enforced,
        "blocked": blocked,
        "decision": decision,
        "reason": reason,
        "routeId": route_id,
        "pathHash": short_hash(path),
        "summary": summary,
    }


def _identity(identity: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Only the audit-safe identity fields: ``{id, type, subjectHash, issuerHash,
    provider}``; anything else an identity object carries is left out."""
    if identity is None:
        return None
    return {
        name: identity.get(name) for name in ("id", "type", "subjectHash", "issuerHash", "provider")
    }
