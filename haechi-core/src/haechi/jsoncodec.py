"""JSON encoding and decoding for payloads.

Payloads can be megabytes, so encoding uses ``orjson`` (about 15x faster than the stdlib's
pretty printer, which falls back to pure Python whenever ``indent`` is set). Decoding uses
the stdlib parser, which measured faster on string-heavy chat payloads and accepts every
document JavaScript's ``JSON.parse`` accepts (big integers, lone surrogate escapes) — except
``NaN``/``Infinity``, which are not JSON and are refused here as they are there.
Where orjson cannot encode a value (an integer beyond 64 bits, a lone surrogate), the
stdlib encoder is used with ASCII escapes, so output is always valid UTF-8 JSON.
Integers are kept exact at any size (JavaScript would round those beyond 2**53; we forward
what the client sent).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps_compact", "dumps_pretty", "loads"]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> int | float:
    """A JSON number with a fraction or exponent. JavaScript has one number type, so
    ``4111111111111111.0`` is the integer ``4111111111111111`` there: it is scanned and
    re-serialized as one. Integral values within 2**53 become ``int`` here too."""
    value = float(text)
    if value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
        return int(value)
    return value


_MAX_SAFE_INTEGER = 2**53 - 1
_decoder = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_parse_float)


def loads(text: str) -> Any:
    """Parse JSON text; raises ``ValueError`` (``json.JSONDecodeError``) or
    ``RecursionError`` for absurdly deep input. Whitespace around the value is JSON's own
    (space, tab, line feed, carriage return); anything else after it is "Extra data"."""
    return _decoder.decode(text)


def dumps_pretty(value: Any) -> str:
    """Two-space indented JSON, like ``JSON.stringify(value, null, 2)``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, indent=2, ensure_ascii=True)


def dumps_compact(value: Any) -> bytes:
    """Compact UTF-8 JSON, like ``JSON.stringify(value)``."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")
