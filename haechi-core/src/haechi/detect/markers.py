"""Haechi's own output markers, which the response direction must not re-detect.

Only genuine markers are skipped (spec §3). A ``[REDACTED:...]`` or ``[TOKEN:...]`` marker
is genuine when its inner text, and its ``<type>`` segment on its own, hold no detection —
or, for a vault-shaped token, when the token vault issued it (its hex id is random and can
by chance look like a 12-digit ID number; a token the vault does not know gets no such
benefit, so data hidden in a forged "token" is still caught); a ``[HAECHI_ENC:...]`` marker
when its payload decodes to a JSON object with string ``kid`` and ``aadHash``. Anything else
is ordinary text.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterator

import attrs
import re2

from haechi.canonical import b64url_decode

__all__ = ["MarkerSpan", "find_markers", "may_hold_markers"]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_MARKER = re2.compile(
    r"\[(?:REDACTED:([a-z_][a-z0-9_]*)"
    r"|TOKEN:(tok_([A-Za-z0-9_.-]+)_[0-9a-f]{16,}|([A-Za-z0-9_.-]+):[0-9a-f]{8,})"
    r"|HAECHI_ENC:([A-Za-z0-9_-]+))\]",
    _OPTIONS,
)
_PREFIXES = ("[REDACTED:", "[TOKEN:", "[HAECHI_ENC:")


@attrs.frozen(slots=True)
class MarkerSpan:
    """A marker at ``[start, end)``. ``inner_texts`` are the (offset, text) pieces whose
    detections would make it not genuine; empty for an encryption marker."""

    start: int
    end: int
    inner_texts: tuple[tuple[int, str], ...]
    is_encryption: bool
    envelope_ok: bool
    #: The vault token of a ``[TOKEN:tok_<type>_<hex>]`` marker, else None.
    token: str | None = None


def may_hold_markers(text: str) -> bool:
    """Cheap pre-check so that texts without any marker skip the marker regex."""
    return "[" in text and any(prefix in text for prefix in _PREFIXES)


def _envelope_ok(payload: str) -> bool:
    try:
        envelope = json.loads(b64url_decode(payload))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return (
        isinstance(envelope, dict)
        and isinstance(envelope.get("kid"), str)
        and isinstance(envelope.get("aadHash"), str)
    )


def find_markers(text: str) -> Iterator[MarkerSpan]:
    """Every marker-shaped span of ``text`` (code-point offsets)."""
    for found in _MARKER.finditer(text):
        start, end = found.span()
        if found.group(5) is not None:
            ok = _envelope_ok(found.group(5))
            yield MarkerSpan(start, end, (), is_encryption=True, envelope_ok=ok)
            continue
        token = found.group(2) if found.group(3) is not None else None
        pieces = []
        for group in (1, 2, 3, 4):
            if found.group(group) is not None:
                pieces.append((found.start(group), found.group(group)))
        yield MarkerSpan(start, end, tuple(pieces), is_encryption=False, envelope_ok=False,
                         token=token)
