"""The hash-chain seal of one audit record, shared by the writer and the verifier.

``auditIntegrity = {alg, canonicalization, sequence, previousHash, eventHash}`` where
``eventHash = b64url(sha256(canonicalize(record with auditIntegrity minus eventHash)))``.
``canonicalize`` is :func:`haechi.canonical.canonicalize`, byte-for-byte the reference's
``json-stable-v1``, so either implementation verifies a log the other wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

from haechi.canonical import b64url_encode, canonicalize_utf8

__all__ = ["ALG", "CANONICALIZATION", "encode_line", "event_hash", "seal"]

ALG = "sha256"
CANONICALIZATION = "json-stable-v1"


def seal(
    event: Mapping[str, Any],
    sequence: int,
    previous_hash: str | None,
    *,
    checked_exact: bool = False,
) -> dict[str, Any]:
    """A new record: ``event`` (already sanitized; any ``auditIntegrity`` it carries is
    replaced) followed by its ``auditIntegrity``. ``checked_exact`` is the second answer of
    :func:`haechi.audit.sanitize.sanitize_for_seal` (the integrity block itself always
    encodes exactly)."""
    record = dict(event)
    record.pop("auditIntegrity", None)
    integrity = {
        "alg": ALG,
        "canonicalization": CANONICALIZATION,
        "sequence": sequence,
        "previousHash": previous_hash,
    }
    record["auditIntegrity"] = integrity
    # Hashed before eventHash is added: exactly the unsealed form event_hash() rebuilds.
    integrity["eventHash"] = _digest(record, checked_exact)
    return record


def event_hash(record: Mapping[str, Any]) -> str:
    """The ``eventHash`` of ``record`` (its own ``eventHash``, if present, is left out)."""
    integrity = record["auditIntegrity"]
    unsealed = dict(record)
    unsealed["auditIntegrity"] = {k: v for k, v in integrity.items() if k != "eventHash"}
    return _digest(unsealed, False)


def _digest(unsealed: Mapping[str, Any], checked_exact: bool) -> str:
    canonical = canonicalize_utf8(unsealed, checked_exact=checked_exact)
    return b64url_encode(hashlib.sha256(canonical).digest())


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One compact JSON line (UTF-8, newline-terminated) as the reference writes it.

    A lone surrogate cannot be encoded as UTF-8; ``backslashreplace`` turns it into the
    ``\\udXXX`` escape, which is exactly its JSON form (it can only occur inside a string),
    so the line still reads back to the hashed value.
    """
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:  # a lone surrogate: the stdlib encoder keeps it
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return (text + "\n").encode("utf-8", "backslashreplace")
