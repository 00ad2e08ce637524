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

from haechi.canonical import orjson_encodes_exactly
from haechi.errors import HaechiError

__all__ = [
    "COUNT_MAP_TOTALS",
    "FORBIDDEN_KEYS",
    "MAX_SAFE_INTEGER",
    "is_count",
    "sanitize_event",
    "sanitize_for_seal",
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
    return sanitize_for_seal(event)[0]


def sanitize_for_seal(event: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """:func:`sanitize_event`, and whether orjson's sorted encoding of the result is its
    canonical form (:func:`haechi.canonical.orjson_encodes_exactly`).

    The sanitizer visits every key and number anyway, so it answers that question on the
    way and the seal does not walk the record a second time.
    """
    if not isinstance(event, Mapping):
        raise HaechiError("An audit event must be a JSON object.")
    inexact: list[bool] = []  # gets an entry when orjson's encoding would differ
    cleaned = _allowed_keys(event, inexact)
    for key, item in cleaned.items():
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if key == "summary" and (kind is dict or isinstance(item, Mapping)):
            cleaned[key] = _clean_summary(item, inexact)
        else:
            cleaned[key] = _clean(item, kind, inexact)
    return cleaned, not inexact


def _is_forbidden(key: str) -> bool:
    return key in FORBIDDEN_KEYS or key.casefold() in FORBIDDEN_KEYS


def is_count(value: Any) -> bool:
    """Whether ``value`` is a plain count: an ``int`` (not a bool) from 0 to
    :data:`MAX_SAFE_INTEGER`."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER


#: Keys of Haechi's own event schemas: known not to be forbidden (and ASCII), so an object
#: with only these keys is copied without looking at each key.
_ALLOWED_KEYS = frozenset(
    {
        "schemaVersion", "id", "correlationId", "timestamp", "protocol", "operation",
        "identity", "profile", "mode", "enforced", "blocked", "payloadShapeHash",
        "detections", "summary", "type", "ruleId", "path", "kind", "confidence", "action",
        "detectionCount", "byType", "byAction", "decision", "reason", "routeId", "pathHash",
        "subjectHash", "issuerHash", "provider", "suppressedCount", "suppressedByType",
        "droppedCount", "droppedByType",
    }
)  # fmt: skip

_STR = frozenset({str})


def _allowed_keys(obj: Mapping[Any, Any], inexact: list[bool]) -> dict[str, Any]:
    """A copy of ``obj`` without its forbidden keys. Refuses a key that is not exactly a
    ``str``; notes a non-ASCII key (orjson sorts by code point, JavaScript by UTF-16
    unit)."""
    if not _STR.issuperset(map(type, obj)):
        raise HaechiError("Audit event keys must be strings.")
    if _ALLOWED_KEYS.issuperset(obj):  # the events Haechi builds: one check in C
        return dict(obj)
    if _no_forbidden_key(obj, inexact):
        return dict(obj)
    return {
        key: item for key, item in obj.items() if key in _ALLOWED_KEYS or not _is_forbidden(key)
    }


def _no_forbidden_key(obj: Mapping[str, Any], inexact: list[bool]) -> bool:
    """True when ``obj`` surely has no forbidden key, checked in C: all keys are ASCII
    without capitals (so each is its own case fold) and none is in :data:`FORBIDDEN_KEYS`.
    False means "look at each key". Notes a non-ASCII key in ``inexact``."""
    joined = "".join(obj)
    if not joined.isascii():
        inexact.append(True)
        return False
    return joined == joined.lower() and FORBIDDEN_KEYS.isdisjoint(obj)


def _clean_object(obj: Mapping[Any, Any], inexact: list[bool]) -> dict[str, Any]:
    return _clean_values(_allowed_keys(obj, inexact), inexact)


def _clean_values(cleaned: dict[str, Any], inexact: list[bool]) -> dict[str, Any]:
    """Sanitize the values of the fresh copy ``cleaned`` in place and return it."""
    for key, item in cleaned.items():
        kind = type(item)
        # Strings, booleans and None are kept as they are (the common case, inline).
        if not (kind is str or kind is bool or item is None):
            cleaned[key] = _clean(item, kind, inexact)  # same key: the dict keeps its size
    return cleaned


_INT = frozenset({int})


def _safe_ints(values: Any) -> bool:
    """Whether every item of ``values`` is an ``int`` within JavaScript's safe range
    (checked in C)."""
    return _INT.issuperset(map(type, values)) and max(map(abs, values), default=0) <= (
        MAX_SAFE_INTEGER
    )


def _clean_summary(summary: Mapping[str, Any], inexact: list[bool]) -> dict[str, Any]:
    """Like :func:`_clean_object`, but a counting map keeps its forbidden-named counts."""
    cleaned = _allowed_keys(summary, inexact)
    for key, item in cleaned.items():
        total = summary.get(COUNT_MAP_TOTALS[key]) if key in COUNT_MAP_TOTALS else None
        if (type(item) is dict or isinstance(item, Mapping)) and is_count(total):
            cleaned[key] = _clean_counts(item, total, inexact)
        else:
            cleaned[key] = _clean(item, type(item), inexact)
    return cleaned


def _clean_counts(counts: Mapping[Any, Any], total: int, inexact: list[bool]) -> dict[str, Any]:
    if not _STR.issuperset(map(type, counts)):
        raise HaechiError("Audit event keys must be strings.")
    if _no_forbidden_key(counts, inexact):
        values = counts.values()
        return dict(counts) if _safe_ints(values) else _clean_values(dict(counts), inexact)
    cleaned: dict[str, Any] = {}
    for key, count in counts.items():
        if key in _ALLOWED_KEYS or not _is_forbidden(key):
            cleaned[key] = _clean(count, type(count), inexact)
        elif is_count(count) and count <= total:
            cleaned[key] = count
    return cleaned


def _clean(value: Any, kind: type, inexact: list[bool]) -> Any:
    """A sanitized copy of one JSON value whose type is ``kind``."""
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise HaechiError("An audit event holds an integer outside JavaScript's safe range.")
        return value
    if kind is dict:
        return _clean_object(value, inexact)
    if kind is float:
        if not math.isfinite(value):
            raise HaechiError("An audit event holds a non-finite number.")
        if not orjson_encodes_exactly(value):
            inexact.append(True)
        return value
    if kind is list or kind is tuple:
        return [
            item if (type(item) is str or item is None) else _clean(item, type(item), inexact)
            for item in value
        ]
    # Subclasses of the JSON types: kept, but the canonical form takes the exact encoder.
    inexact.append(True)
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        _clean(int(value), int, inexact)  # the range check
        return value
    if isinstance(value, float):
        _clean(float(value), float, inexact)  # the finiteness check
        return value
    if isinstance(value, Mapping):
        return _clean_object(value, inexact)
    if isinstance(value, list | tuple):
        return [_clean(item, type(item), inexact) for item in value]
    raise HaechiError(f"An audit event holds a {type(value).__name__}, which is not JSON.")
