"""Decoding for decode-and-rescan (spec §3, ``filters.decodeAndRescan``).

A text qualifies when it is 16 to 8192 characters long and is either exact base64
(standard alphabet with length % 4 == 0, or base64url with length % 4 != 1, re-encoding
to the very same text and decoding to UTF-8) or, failing that, percent-encoded.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["MAX_DECODE_LENGTH", "MIN_DECODE_LENGTH", "decode_for_rescan"]

MIN_DECODE_LENGTH = 16
MAX_DECODE_LENGTH = 8192

_STANDARD = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _from_base64(text: str) -> bytes | None:
    if len(text) % 4 == 0 and _STANDARD.fullmatch(text):
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error:
            return None
        return raw if base64.b64encode(raw).decode("ascii") == text else None
    if len(text) % 4 != 1 and _URL_SAFE.fullmatch(text):
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return raw if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == text else None
    return None


def _from_percent(text: str) -> str | None:
    """``decodeURIComponent``: malformed escapes or invalid UTF-8 mean no decoding."""
    if not _PERCENT.search(text) or _BAD_PERCENT.search(text):
        return None
    pieces: list[bytes] = []
    position = 0
    for found in _PERCENT.finditer(text):
        pieces.append(text[position : found.start()].encode("utf-8"))
        pieces.append(bytes.fromhex(found.group()[1:]))
        position = found.end()
    pieces.append(text[position:].encode("utf-8"))
    try:
        return b"".join(pieces).decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_for_rescan(text: str) -> str | None:
    """The decoded form of ``text`` to rescan, or None when it does not qualify."""
    if not MIN_DECODE_LENGTH <= len(text) <= MAX_DECODE_LENGTH:
        return None
    raw = _from_base64(text)
    if raw is not None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return _from_percent(text)
