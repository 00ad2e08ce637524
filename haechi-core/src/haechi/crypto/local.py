"""The built-in ``local`` crypto provider: AES-256-GCM envelopes and domain-separated
HMAC from the local key file, with the nonce budget of :mod:`haechi.crypto.nonce_budget`.

Envelope v2 (§8)::

    {"v": 2, "alg": "AES-256-GCM", "kid": ..., "iv": <b64url 12 B>, "ct": <b64url>,
     "tag": <b64url 16 B>, "aadHash": <b64url sha256(AAD bytes)>,
     "aadEncoding": "nfkc-json-v2", "createdAt": ISO, "expiresAt": ISO (optional)}

The AAD bytes are ``canonicalize_crypto_aad(aad)``; legacy v1 envelopes (no
``aadEncoding``) were sealed over plain ``canonicalize(aad)`` and still open.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_lib
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haechi.canonical import b64url_decode, b64url_encode, canonicalize, canonicalize_crypto_aad
from haechi.crypto.keyfile import KEY_ALG, KeyEntry, KeyFile, load_key_file
from haechi.crypto.nonce_budget import NonceBudget, budget_report
from haechi.errors import CryptoError
from haechi.hookspecs import hookimpl
from haechi.isotime import parse_iso, to_iso, utc_now

__all__ = [
    "AAD_ENCODING",
    "ENVELOPE_VERSION",
    "LocalCryptoProvider",
    "haechi_register_crypto_providers",
]

ENVELOPE_VERSION = 2
AAD_ENCODING = "nfkc-json-v2"
_IV_BYTES = 12
_TAG_BYTES = 16


def _aad_hash(aad_bytes: bytes) -> str:
    return b64url_encode(hashlib.sha256(aad_bytes).digest())


class LocalCryptoProvider:
    """Encrypts with the active key of a local key file; decrypts with any key of it
    (active or retired) chosen by the envelope's ``kid``. Keys are read once and
    cached for the life of the instance."""

    NAME = "local"

    def __init__(
        self, key_file: str | os.PathLike[str], *, clock: Callable[[], datetime] = utc_now
    ):
        self._path = Path(key_file)
        self._clock = clock
        self._keys: KeyFile | None = None
        self._keys_lock = threading.Lock()
        self._budget = NonceBudget(self._path)

    @classmethod
    def from_config(cls, config: Any) -> LocalCryptoProvider:
        """The provider for ``keys.keyFile`` of a loaded configuration."""
        return cls(config.keys.key_file)

    # -- keys ------------------------------------------------------------------------

    def _key_file(self) -> KeyFile:
        with self._keys_lock:
            if self._keys is None:
                self._keys = load_key_file(self._path)
            return self._keys

    @property
    def active_kid(self) -> str:
        """The ``kid`` new envelopes, HMACs and bundle signatures use."""
        return self._key_file().active.kid

    def _key(self, kid: str | None) -> KeyEntry:
        key_file = self._key_file()
        if kid is None:
            return key_file.active
        entry = key_file.find(kid)
        if entry is None:
            raise CryptoError(f"Unknown key id in envelope: {kid}")
        return entry

    # -- envelopes -------------------------------------------------------------------

    def encrypt(
        self, plaintext: bytes, aad: Mapping[str, Any], *, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        """Seal ``plaintext`` under the active key, bound to ``aad``.

        :raises CryptoError: the key reached its nonce budget, or the AAD has two keys
            that are equal after NFKC.
        """
        if not isinstance(plaintext, bytes | bytearray):
            raise TypeError("plaintext must be bytes")
        aad_bytes = canonicalize_crypto_aad(aad).encode("utf-8", "surrogatepass")
        entry = self._key_file().active
        self._budget.consume(entry.kid)  # before the IV exists: fail closed at the limit
        iv = secrets.token_bytes(_IV_BYTES)
        sealed = AESGCM(entry.key).encrypt(iv, bytes(plaintext), aad_bytes)
        envelope: dict[str, Any] = {
            "v": ENVELOPE_VERSION,
            "alg": KEY_ALG,
            "kid": entry.kid,
            "iv": b64url_encode(iv),
            "ct": b64url_encode(sealed[:-_TAG_BYTES]),
            "tag": b64url_encode(sealed[-_TAG_BYTES:]),
            "aadHash": _aad_hash(aad_bytes),
            "aadEncoding": AAD_ENCODING,
            "createdAt": to_iso(self._clock()),
        }
        if expires_at is not None:
            envelope["expiresAt"] = to_iso(expires_at)
        return envelope

    def decrypt(self, envelope: Mapping[str, Any], aad: Mapping[str, Any]) -> bytes:
        """Open an envelope sealed by :meth:`encrypt` (or a legacy v1 one), checking in
        order: algorithm, expiry, key id, AAD encoding, AAD hash, GCM tag.

        :raises CryptoError: with the §8 message of the first check that fails.
        """
        if not isinstance(envelope, Mapping):
            raise CryptoError("Crypto envelope must be an object")
        alg = envelope.get("alg")
        if alg is not None and alg != KEY_ALG:
            raise CryptoError(f"Unsupported local crypto algorithm: {alg}")
        self._check_not_expired(envelope.get("expiresAt"))
        kid = envelope.get("kid")
        if not isinstance(kid, str):
            raise CryptoError(f"Unknown key id in envelope: {kid}")
        entry = self._key(kid)
        aad_bytes = self._aad_bytes(envelope, aad)
        claimed = envelope.get("aadHash")
        if not isinstance(claimed, str) or not hmac_lib.compare_digest(
            claimed.encode("ascii", "replace"), _aad_hash(aad_bytes).encode("ascii")
        ):
            raise CryptoError("AAD hash mismatch")
        iv, ct, tag = (self._field_bytes(envelope, name) for name in ("iv", "ct", "tag"))
        if len(iv) != _IV_BYTES or len(tag) != _TAG_BYTES:
            raise CryptoError("Crypto envelope authentication failed")
        try:
            return AESGCM(entry.key).decrypt(iv, ct + tag, aad_bytes)
        except InvalidTag:
            raise CryptoError("Crypto envelope authentication failed") from None

    def _check_not_expired(self, expires_at: Any) -> None:
        if expires_at is None:
            return
        try:
            deadline = parse_iso(expires_at)
        except ValueError:
            raise CryptoError("Crypto envelope expiresAt is not a valid timestamp") from None
        if deadline <= self._clock():
            raise CryptoError("Crypto envelope expired")

    @staticmethod
    def _aad_bytes(envelope: Mapping[str, Any], aad: Mapping[str, Any]) -> bytes:
        encoding = envelope.get("aadEncoding")
        version = envelope.get("v")
        if encoding == AAD_ENCODING or (encoding is None and version == ENVELOPE_VERSION):
            text = canonicalize_crypto_aad(aad)
        elif encoding is None and version == 1:
            text = canonicalize(aad)
        else:
            shown = encoding if encoding is not None else f"v{version}"
            raise CryptoError(f"Unsupported crypto AAD encoding: {shown}")
        return text.encode("utf-8", "surrogatepass")

    @staticmethod
    def _field_bytes(envelope: Mapping[str, Any], name: str) -> bytes:
        try:
            return b64url_decode(envelope.get(name))
        except (ValueError, TypeError):
            raise CryptoError("Crypto envelope authentication failed") from None

    # -- HMAC ------------------------------------------------------------------------

    def hmac(self, data: str, domain: str, *, kid: str | None = None) -> str:
        """``hex(HMAC-SHA256(HMAC-SHA256(rawKey, domain), data))`` with the active key,
        or with key ``kid`` (active or retired) when given.

        :raises CryptoError: ``domain`` is empty or not a string, or ``kid`` is unknown.
        """
        if not isinstance(domain, str) or not domain:
            raise CryptoError("hmac requires a non-empty domain string")
        if not isinstance(data, str):
            raise TypeError("hmac data must be a string")
        raw_key = self._key(kid).key
        derived = hmac_lib.new(raw_key, domain.encode("utf-8"), hashlib.sha256).digest()
        return hmac_lib.new(
            derived, data.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()

    # -- nonce budget ----------------------------------------------------------------

    def nonce_budget(self) -> dict[str, Any]:
        """The active key's budget as this instance sees it: its own count once it has
        encrypted, the persisted count before (§8 ``readNonceBudget`` fields)."""
        active = self._key_file().active
        used = self._budget.used(active.kid)
        if used is None:
            entry = load_key_file(self._path).find(active.kid)
            used = (entry.usage if entry is not None else None) or 0
        return budget_report(active.kid, used)


@hookimpl
def haechi_register_crypto_providers(register: Callable[[type], None]) -> None:
    register(LocalCryptoProvider)
