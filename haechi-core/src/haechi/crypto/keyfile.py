"""The local key file (``keys.keyFile``, mode 0600), byte-compatible with the reference.

Layout::

    {"version": 1, "createdAt": "...", "keys": [
      {"kid": "local-<epochMs>-<6hex>", "kty": "oct", "alg": "AES-256-GCM",
       "status": "active" | "retired", "k": "<b64url 32 bytes>", "usage": <int>}]}

``usage`` counts reserved AES-GCM encryptions of that key (the nonce budget); a file
written by the reference may lack it, which means 0. Every rewrite is atomic (temp file
+ rename) and every read-modify-write holds an advisory ``flock`` on ``<path>.lock`` so
two processes sharing one key file cannot lose each other's usage updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs

from haechi.canonical import b64url_decode, b64url_encode
from haechi.errors import CryptoError
from haechi.isotime import to_iso, utc_now

__all__ = [
    "KEY_ALG",
    "KeyEntry",
    "KeyFile",
    "create_key_file",
    "key_file_permissions",
    "load_key_file",
    "reserve_key_usage",
    "rotate_key_file",
]

KEY_ALG = "AES-256-GCM"
_KEY_BYTES = 32
KeyStatus = Literal["active", "retired"]


@attrs.frozen(slots=True)
class KeyEntry:
    """One key of the key file. ``key`` is secret material and never printed."""

    kid: str
    status: KeyStatus
    key: bytes = attrs.field(repr=False)
    usage: int | None = None
    kty: str = "oct"
    alg: str = KEY_ALG

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kid": self.kid,
            "kty": self.kty,
            "alg": self.alg,
            "status": self.status,
            "k": b64url_encode(self.key),
        }
        if self.usage is not None:
            entry["usage"] = self.usage
        return entry


@attrs.frozen(slots=True)
class KeyFile:
    """A validated key file. ``active`` is the first ``status:"active"`` key, falling
    back to the first key (the reference's rule for loading; ``init`` demands an
    explicit active key through ``load_key_file(..., require_active=True)``)."""

    path: Path
    version: int
    created_at: str
    keys: tuple[KeyEntry, ...]

    @property
    def active(self) -> KeyEntry:
        return next((entry for entry in self.keys if entry.status == "active"), self.keys[0])

    def find(self, kid: str) -> KeyEntry | None:
        """The key with this ``kid``, active or retired, or None."""
        return next((entry for entry in self.keys if entry.kid == kid), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "createdAt": self.created_at,
            "keys": [entry.to_json() for entry in self.keys],
        }


def load_key_file(path: str | os.PathLike[str], *, require_active: bool = False) -> KeyFile:
    """Read and validate every entry of the key file at ``path``.

    :raises CryptoError: the file is missing, not JSON, has no keys, or an entry is
        invalid (a ``k`` that is not 32 bytes gives ``AES-256-GCM local key must be 32
        bytes``); with ``require_active``, when no key is explicitly active.
    """
    key_path = Path(path)
    try:
        text = key_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CryptoError(
            f"Key file not found: {key_path}; run 'haechi init' to create it"
        ) from None
    except OSError as error:
        raise CryptoError(f"Key file {key_path} could not be read ({error.strerror})") from None
    return _parse_key_file(key_path, text, require_active=require_active)


def _parse_key_file(key_path: Path, text: str, *, require_active: bool) -> KeyFile:
    try:
        document = json.loads(text)
    except ValueError:
        raise CryptoError(f"Key file {key_path} is not valid JSON") from None
    if not isinstance(document, dict):
        raise CryptoError(f"Key file {key_path} must hold a JSON object")
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise CryptoError(f"No keys found in {key_path}")
    entries = tuple(_parse_entry(raw, index) for index, raw in enumerate(raw_keys))
    kids = [entry.kid for entry in entries]
    duplicates = sorted({kid for kid in kids if kids.count(kid) > 1})
    if duplicates:
        raise CryptoError(f"Key file {key_path} lists key id {duplicates[0]} more than once")
    if require_active and not any(entry.status == "active" for entry in entries):
        raise CryptoError("No active key found in local key file")
    version = document.get("version", 1)
    created_at = document.get("createdAt", "")
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(created_at, str):
        raise CryptoError(f"Key file {key_path} has an invalid version or createdAt")
    return KeyFile(path=key_path, version=version, created_at=created_at, keys=entries)


def _parse_entry(raw: Any, index: int) -> KeyEntry:
    where = f"keys[{index}]"
    if not isinstance(raw, dict):
        raise CryptoError(f"Key file entry {where} must be an object")
    kid = raw.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CryptoError(f"Key file entry {where} needs a non-empty string kid")
    status = raw.get("status", "active")
    if status not in ("active", "retired"):
        raise CryptoError(f"Key file entry {where} has status {status!r}; use active or retired")
    alg = raw.get("alg", KEY_ALG)
    if alg != KEY_ALG:
        raise CryptoError(f"Unsupported local crypto algorithm: {alg}")
    try:
        key = b64url_decode(raw.get("k"))
    except (ValueError, TypeError):
        key = b""
    if len(key) != _KEY_BYTES:
        raise CryptoError("AES-256-GCM local key must be 32 bytes")
    usage = raw.get("usage")
    if usage is not None and (not isinstance(usage, int) or isinstance(usage, bool) or usage < 0):
        raise CryptoError(f"Key file entry {where} has an invalid usage count")
    return KeyEntry(
        kid=kid, status=status, key=key, usage=usage, kty=raw.get("kty", "oct"), alg=alg
    )


def _new_entry() -> KeyEntry:
    kid = f"local-{time.time_ns() // 1_000_000}-{secrets.token_hex(3)}"
    return KeyEntry(kid=kid, status="active", key=secrets.token_bytes(_KEY_BYTES), usage=0)


def create_key_file(path: str | os.PathLike[str]) -> KeyFile:
    """Create a key file with one fresh active key (mode 0600).

    :raises CryptoError: a file already exists at ``path`` (it is never overwritten;
        use :func:`rotate_key_file`).
    """
    key_path = Path(path)
    key_file = KeyFile(path=key_path, version=1, created_at=to_iso(utc_now()), keys=(_new_entry(),))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(key_path, key_file.to_json())
    try:
        os.link(temp, key_path)  # atomic and never clobbers
    except FileExistsError:
        raise CryptoError(f"Key file already exists: {key_path}") from None
    finally:
        temp.unlink(missing_ok=True)
    return key_file


def rotate_key_file(path: str | os.PathLike[str]) -> KeyFile:
    """Put a new active key first and mark every previous key ``retired`` (they stay
    addressable by ``kid`` for decryption). Creates the file if it does not exist."""
    key_path = Path(path)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(key_path):
        if not key_path.exists():
            return create_key_file(key_path)
        current = load_key_file(key_path)
        retired = tuple(attrs.evolve(entry, status="retired") for entry in current.keys)
        rotated = KeyFile(
            path=key_path,
            version=current.version,
            created_at=to_iso(utc_now()),
            keys=(_new_entry(), *retired),
        )
        _replace(key_path, rotated.to_json())
    return rotated


def reserve_key_usage(path: str | os.PathLike[str], kid: str, *, window: int, limit: int) -> int:
    """Reserve up to ``window`` encryptions of key ``kid``: under the file lock, read its
    ``usage`` (the base), persist ``min(base + window, limit)``, and return the base.
    When the base already reached ``limit`` nothing is written.

    :raises OSError: the key file (or its lock) cannot be written.
    :raises CryptoError: the file is invalid or has no key ``kid``.
    """
    key_path = Path(path)
    with _locked(key_path):
        key_file = load_key_file(key_path)
        entry = key_file.find(kid)
        if entry is None:
            raise CryptoError(f"Active key {kid} not found while reserving nonce budget")
        base = entry.usage or 0
        if base < limit:
            updated = attrs.evolve(entry, usage=min(base + window, limit))
            keys = tuple(updated if item.kid == kid else item for item in key_file.keys)
            _replace(key_path, attrs.evolve(key_file, keys=keys).to_json())
    return base


def key_file_permissions(path: str | os.PathLike[str]) -> str | None:
    """The permission bits of the key file as four octal digits (``"0600"`` when it is
    private), or None when it does not exist."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    return f"{mode & 0o777:04o}"


@contextlib.contextmanager
def _locked(key_path: Path) -> Iterator[None]:
    descriptor = os.open(f"{key_path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the flock


def _write_temp(key_path: Path, document: dict[str, Any]) -> Path:
    temp = key_path.with_name(f"{key_path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return temp


def _replace(key_path: Path, document: dict[str, Any]) -> None:
    temp = _write_temp(key_path, document)
    try:
        os.replace(temp, key_path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
