"""Canonical JSON (``json-stable-v1``) and the small encodings every format shares.

``canonicalize`` must produce byte-for-byte what the reference implementation's
``canonicalize`` produces: object keys sorted (by UTF-16 code units, as JavaScript's
default sort does), arrays in order, primitives encoded as ``JSON.stringify`` encodes
them. Audit hash chains and policy-bundle signatures are computed over it, so a log
written by one implementation verifies under the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

import orjson

__all__ = [
    "b64url_decode",
    "b64url_encode",
    "canonicalize",
    "canonicalize_crypto_aad",
    "canonicalize_utf8",
    "js_number",
    "js_string",
    "orjson_encodes_exactly",
    "short_hash",
]

_encode_string = json.encoder.encode_basestring  # escapes like JSON.stringify for BMP text


_SURROGATE = re.compile("[\ud800-\udfff]")


def js_string(value: str) -> str:
    """Encode a string as ``JSON.stringify`` does (non-ASCII kept, lone surrogates escaped)."""
    encoded = _encode_string(value)
    if not value.isascii() and _SURROGATE.search(value):
        encoded = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
    return encoded


#: Within this magnitude range a non-integral float's ``repr`` is already JavaScript's
#: ``Number::toString`` (Python switches to exponent form below 1e-4 and from 1e16).
_REPR_IS_JS_LOW = 1e-4
_REPR_IS_JS_HIGH = 1e16


def js_number(value: int | float) -> str:
    """Render a number as JavaScript's ``String(n)`` / ``JSON.stringify(n)`` does
    (ECMAScript Number::toString: shortest round-trip digits, exponent form outside
    1e-7 < |n| < 1e21)."""
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    if _REPR_IS_JS_LOW <= abs(value) < _REPR_IS_JS_HIGH and not value.is_integer():
        # Python's repr prints the same shortest round-trip digits, in positional form.
        return repr(value)
    return _js_float_text(value)


def _js_float_text(value: float) -> str:
    """``Number::toString`` of a finite, non-zero float, digit by digit."""
    sign = "-" if value < 0 else ""
    exact = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, exponent = exact.as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + int(exponent)  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        mantissa = digits[0] + (f".{digits[1:]}" if k > 1 else "")
        body = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + body


def _sort_key(key: str) -> list[int]:
    encoded = key.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(encoded[i : i + 2], "big") for i in range(0, len(encoded), 2)]


def _needs_utf16_sort(keys: list[str]) -> bool:
    return any(not k.isascii() for k in keys)


def canonicalize(value: Any) -> str:
    """Sorted-key, whitespace-free JSON text of ``value`` (``json-stable-v1``).

    Audit records are canonicalized on every append, so values that orjson encodes exactly
    as JavaScript does (checked by :func:`_orjson_exact`) take orjson's C path; anything
    else takes the reference-exact encoder below.
    """
    if _orjson_exact(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError:  # a lone surrogate or an integer beyond 64 bits
            pass
    parts: list[str] = []
    _canonical_into(value, parts)
    return "".join(parts)


def canonicalize_utf8(value: Any, *, checked_exact: bool = False) -> bytes:
    """``canonicalize(value).encode("utf-8")`` without the decode/encode round trip on the
    orjson path (the canonical text escapes lone surrogates, so it always encodes).

    ``checked_exact=True`` says the caller has already established what
    :func:`_orjson_exact` checks (every key ASCII, every float
    :func:`orjson_encodes_exactly`, plain JSON types only), as the audit sanitizer does in
    its own walk of the record, so that walk is not repeated here.
    """
    if checked_exact or _orjson_exact(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return canonicalize(value).encode("utf-8")


def _orjson_exact(value: Any) -> bool:
    """Whether orjson's sorted output equals ``json-stable-v1`` for ``value``: every key is
    ASCII (so code-point order is UTF-16 order) and every float is non-integral within
    ``[1e-4, 1e16)`` (where orjson and ``Number::toString`` print the same digits; an
    integral float is ``1`` in JavaScript but ``1.0`` in orjson). Strings need no check:
    orjson escapes exactly as ``JSON.stringify`` does and refuses lone surrogates."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            try:  # one C-level pass: str.join refuses a non-string key
                if not "".join(item).isascii():
                    return False
            except TypeError:
                return False
            children = item.values()
        elif kind is list or kind is tuple:
            children = item
        elif _leaf_exact(kind, item):
            continue
        else:
            return False
        for child in children:
            child_kind = type(child)
            if child_kind is str or child_kind is int or child_kind is bool or child is None:
                continue
            if child_kind is dict or child_kind is list or child_kind is tuple:
                push(child)
            elif not _leaf_exact(child_kind, child):
                return False
    return True


def _leaf_exact(kind: type, item: Any) -> bool:
    if kind is float:
        return orjson_encodes_exactly(item)
    return kind is str or kind is int or kind is bool or item is None


def orjson_encodes_exactly(value: float) -> bool:
    """Whether orjson prints the float ``value`` as ``JSON.stringify`` does: non-integral
    with ``1e-4 <= |value| < 1e16`` (an integral float is ``1`` in JavaScript, ``1.0`` in
    orjson; outside the range the exponent forms differ)."""
    magnitude = abs(value)
    return _REPR_IS_JS_LOW <= magnitude < _REPR_IS_JS_HIGH and not magnitude.is_integer()


def _canonical_into(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(js_string(value))
    elif isinstance(value, int | float):
        out.append(js_number(value))
    elif isinstance(value, dict):
        keys = list(value.keys())
        keys.sort(key=_sort_key) if _needs_utf16_sort(keys) else keys.sort()
        out.append("{")
        first = True
        for key in keys:
            if not first:
                out.append(",")
            first = False
            out.append(js_string(key))
            out.append(":")
            _canonical_into(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _canonical_into(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot canonicalize a value of type {type(value).__name__}")


def canonicalize_crypto_aad(aad: Any) -> str:
    """Canonical JSON in which every string value and every object key is NFKC-normalized
    (AAD encoding ``nfkc-json-v2``). Two keys of one object that normalize to the same
    text are refused, so two different AADs can never encode to the same bytes."""
    return canonicalize(_nfkc_tree(aad))


def _nfkc_tree(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            folded = unicodedata.normalize("NFKC", key)
            if folded in out:
                from haechi.errors import CryptoError

                raise CryptoError(f'crypto AAD NFKC key collision: "{folded}"')
            out[folded] = _nfkc_tree(item)
        return out
    if isinstance(value, list | tuple):
        return [_nfkc_tree(item) for item in value]
    return value


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raises ``ValueError`` on bad input."""
    if not isinstance(text, str):
        raise ValueError("base64url value must be a string")
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def short_hash(text: str) -> str:
    """The first 12 hex characters of sha256(text)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
