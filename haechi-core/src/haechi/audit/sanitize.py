"""Strip sensitive keys from an audit event before it is stored.

An audit record must never hold a raw value. Event builders only put hashes, types and
counts in events, and this module is the last line of defence: every object key listed in
:data:`FORBIDDEN_KEYS` is dropped at any depth (compared case-insensitively, so ``Value``
or ``SECRET`` do not slip through), and the result is checked to be plain JSON that both
this implementation and the JavaScript reference read back to the same value.

One exception fixes reference quirk 4. A summary's counting maps (``byType``,
``byAction``, ``suppressedByType``, ``droppedByType``) are keyed by detection type or
action name, and ``secret`` is a detection type: the reference drops
``summary.byType.secret`` and undercounts secret detections. Here a forbidden key inside
one of those maps of the record's top-level ``summary`` is kept, but only when its value
is an ``int`` count between 0 and the summary's matching total (``detectionCount``,
``suppressedCount`` or ``droppedCount``). A string, an object, a boolean or a number
larger than the total is still dropped, so the exception cannot carry a raw value that
the summary's own total does not already show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from haechi.errors import HaechiError

__all__ = [
    "COUNT_MAP_TOTALS",
    "FORBIDDEN_KEYS",
    "MAX_SAFE_INTEGER",
    "is_count",
    "sanitize_event",
]

FORBIDDEN_KEYS = frozenset(
    {
        "value", "plaintext", "payload", "content", "message", "prompt", "secret",
        "access_token", "id_token", "refresh_token", "code", "code_verifier",
        "client_secret", "state", "nonce",
        "claims", "subject", "issuer", "credential", "authorization", "signature", "entry",
        "scopes", "labels",
    }
)  # fmt: skip

#: The counting maps of a summary and the summary key holding each map's total.
COUNT_MAP_TOTALS: Mapping[str, str] = {
    "byType": "detectionCount",
    "byAction": "detectionCount",
    "suppressedByType": "suppressedCount",
    "droppedByType": "droppedCount",
}

#: JavaScript's ``Number.MAX_SAFE_INTEGER``: larger integers would not read back exactly
#: in the reference implementation, so its verifier would see a different hash.
MAX_SAFE_INTEGER = 2**53 - 1


def sanitize_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a sanitized deep copy of ``event`` (the input is not modified).

    Raises :class:`HaechiError` when the event is not a JSON object of plain JSON values
    (non-string keys, non-finite or unsafe numbers, other Python types).
    """
    if not isinstance(event, Mapping):
        raise HaechiError("An audit event must be a JSON object.")
    cleaned: dict[str, Any] = {}
    for key, item in event.items():
        if type(key) is not str:
            raise HaechiError("Audit event keys must be strings.")
        if key == "summary" and isinstance(item, Mapping):
            cleaned[key] = _clean_summary(item)
        elif key in _ALLOWED_KEYS or not _is_forbidden(key):
            kind = type(item)
            cleaned[key] = item if kind is str or kind is bool or item is None else _clean(item)
    return cleaned


def _is_forbidden(key: str) -> bool:
    return key in FORBIDDEN_KEYS or key.casefold() in FORBIDDEN_KEYS


def is_count(value: Any) -> bool:
    """Whether ``value`` is a plain count: an ``int`` (not a bool) from 0 to
    :data:`MAX_SAFE_INTEGER`."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER


def _clean_object(obj: Mapping[Any, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, item in obj.items():
        if type(key) is not str:
            raise HaechiError("Audit event keys must be strings.")
        if key in _ALLOWED_KEYS or not _is_forbidden(key):
            kind = type(item)
            # Strings, booleans and None are kept as they are (the common case, inline).
            cleaned[key] = item if kind is str or kind is bool or item is None else _clean(item)
    return cleaned


#: Keys of Haechi's own event schemas: known not to be forbidden, so the case-folded
#: lookup is skipped for them on the hot path.
_ALLOWED_KEYS = frozenset(
    {
        "schemaVersion", "id", "correlationId", "timestamp", "protocol", "operation",
        "identity", "profile", "mode", "enforced", "blocked", "payloadShapeHash",
        "detections", "summary", "type", "ruleId", "path", "kind", "confidence", "action",
        "detectionCount", "byType", "byAction", "decision", "reason", "routeId", "pathHash",
    }
)  # fmt: skip


def _clean_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Like :func:`_clean_object`, but a counting map keeps its forbidden-named counts."""
    cleaned: dict[str, Any] = {}
    for key, item in summary.items():
        if type(key) is not str:
            raise HaechiError("Audit event keys must be strings.")
        if not (key in _ALLOWED_KEYS or not _is_forbidden(key)):
            continue
        total = summary.get(COUNT_MAP_TOTALS[key]) if key in COUNT_MAP_TOTALS else None
        if isinstance(item, Mapping) and is_count(total):
            cleaned[key] = _clean_counts(item, total)
        else:
            cleaned[key] = _clean(item)
    return cleaned


def _clean_counts(counts: Mapping[Any, Any], total: int) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, count in counts.items():
        if type(key) is not str:
            raise HaechiError("Audit event keys must be strings.")
        if key in _ALLOWED_KEYS or not _is_forbidden(key):
            cleaned[key] = _clean(count)
        elif is_count(count) and count <= total:
            cleaned[key] = count
    return cleaned


def _clean(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return _clean_object(value)
    if kind is list:
        return [_clean(item) for item in value]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise HaechiError("An audit event holds an integer outside JavaScript's safe range.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HaechiError("An audit event holds a non-finite number.")
        return value
    if isinstance(value, Mapping):
        return _clean_object(value)
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    raise HaechiError(f"An audit event holds a {type(value).__name__}, which is not JSON.")
