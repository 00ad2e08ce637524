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
import re
from typing import NamedTuple

from haechi.canonical import b64url_decode
from haechi.detect.matching import UNANCHORED, raw_regex, to_code_points

__all__ = ["MARKER_OPENING", "MarkerSpan", "find_markers", "may_hold_markers"]

#: How every marker opens (a prefix search; the full shapes are checked by ``_MARKER``).
MARKER_OPENING = re.compile("|".join(map(re.escape, ("[REDACTED:", "[TOKEN:", "[HAECHI_ENC:"))))

#: Groups: 1 the ``<type>`` of a redaction marker; 2 a token marker's whole token, with 3
#: its ``<type>`` when it is vault-shaped (``tok_<type>_<hex>``) or 4 its ``<type>`` in the
#: ``<type>:<hex>`` form; 5 an encryption marker's payload. Compiled for UTF-8 bytes and
#: called through the extension object (see :mod:`haechi.detect.matching`): the wrapper's
#: ``finditer`` over a ``str`` re-encodes and re-maps offsets per match.
_MARKER = raw_regex(
    r"\[(?:REDACTED:([a-z_][a-z0-9_]*)"
    r"|TOKEN:(tok_([A-Za-z0-9_.-]+)_[0-9a-f]{16,}|([A-Za-z0-9_.-]+):[0-9a-f]{8,})"
    r"|HAECHI_ENC:([A-Za-z0-9_-]+))\]"
)


class MarkerSpan(NamedTuple):
    """A marker at ``[start, end)``. ``inner_texts`` are the (offset, text) pieces whose
    detections would make it not genuine; empty for an encryption marker. (A named tuple:
    one is built per marker of every response text, and it is several times cheaper to
    build than a frozen attrs class.)"""

    start: int
    end: int
    inner_texts: tuple[tuple[int, str], ...]
    is_encryption: bool
    envelope_ok: bool
    #: The vault token of a ``[TOKEN:tok_<type>_<hex>]`` marker, else None.
    token: str | None = None


def may_hold_markers(text: str) -> bool:
    """Cheap pre-check so that texts without any marker skip the marker regex."""
    return "[" in text and MARKER_OPENING.search(text) is not None


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


def find_markers(text: str) -> list[MarkerSpan]:
    """Every marker-shaped span of ``text`` (code-point offsets)."""
    data = text.encode("utf-8", "surrogatepass")
    match = _MARKER.Match
    found: list[list[tuple[int, int]]] = []
    pos, size = 0, len(data)
    while pos < size:
        groups = match(UNANCHORED, data, pos, size)
        if groups[0][0] < 0:
            break
        found.append(groups)
        pos = groups[0][1]  # a marker is never empty
    if not found or size == len(text):
        return [_marker_span(data, groups) for groups in found]
    # Non-ASCII text: byte offsets become code-point offsets (markers themselves are
    # ASCII, so each group's text is still its bytes).
    points = to_code_points(data, [offset for groups in found for span in groups
                                   for offset in span if offset >= 0])
    return [_marker_span(data, [(points.get(s, s), points.get(e, e)) for s, e in groups],
                         byte_groups=groups)
            for groups in found]


def _marker_span(data: bytes, groups: list[tuple[int, int]],
                 byte_groups: list[tuple[int, int]] | None = None) -> MarkerSpan:
    """The marker whose group spans are ``groups`` (``(-1, -1)`` for a group that did
    not take part); ``byte_groups`` are the same spans in bytes of ``data`` when they
    differ."""
    raw = byte_groups or groups
    texts = [None if start < 0 else data[start:end].decode("ascii") for start, end in raw]
    start, end = groups[0]
    if texts[5] is not None:
        return MarkerSpan(start, end, (), True, _envelope_ok(texts[5]))
    pieces = tuple((groups[number][0], texts[number]) for number in (1, 2, 3, 4)
                   if texts[number] is not None)
    return MarkerSpan(start, end, pieces, False, False, texts[2] if texts[3] is not None else None)
