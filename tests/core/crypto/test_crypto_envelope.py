from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from haechi.canonical import b64url_decode, b64url_encode, canonicalize, canonicalize_crypto_aad
from haechi.crypto.keyfile import load_key_file
from haechi.crypto.local import LocalCryptoProvider
from haechi.errors import CryptoError

AAD = {
    "context": {"protocol": "cli"},
    "path": "messages[0].content",
    "type": "email",
    "ruleId": "email",
}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _fullwidth(text: str) -> str:
    """The fullwidth compatibility forms of ASCII letters (NFKC folds them back)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def _flip(b64: str, index: int = 0) -> str:
    data = bytearray(b64url_decode(b64))
    data[index] ^= 0x01
    return b64url_encode(bytes(data))


def test_envelope_v2_shape(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"alice@example.com", AAD)
    assert list(envelope) == [
        "v",
        "alg",
        "kid",
        "iv",
        "ct",
        "tag",
        "aadHash",
        "aadEncoding",
        "createdAt",
    ]
    assert envelope["v"] == 2 and envelope["alg"] == "AES-256-GCM"
    assert envelope["aadEncoding"] == "nfkc-json-v2"
    assert len(b64url_decode(envelope["iv"])) == 12
    assert len(b64url_decode(envelope["tag"])) == 16
    assert len(b64url_decode(envelope["ct"])) == len(b"alice@example.com")
    assert ISO_MS.fullmatch(envelope["createdAt"])
    assert not any("=" in envelope[k] for k in ("iv", "ct", "tag", "aadHash"))


def test_round_trip_and_fresh_iv(provider: LocalCryptoProvider) -> None:
    first = provider.encrypt(b"same", AAD)
    second = provider.encrypt(b"same", AAD)
    assert first["iv"] != second["iv"] and first["ct"] != second["ct"]
    assert provider.decrypt(first, AAD) == provider.decrypt(second, AAD) == b"same"


def test_envelope_opens_with_independent_aes_gcm(
    provider: LocalCryptoProvider, key_path: Path
) -> None:
    """What a reference reader does: key by kid, AAD = NFKC canonical JSON, ct||tag."""
    envelope = provider.encrypt(b"interop", {"k": _fullwidth("Haechi")})
    raw_key = load_key_file(key_path).find(envelope["kid"]).key
    aad_bytes = canonicalize({"k": "Haechi"}).encode()
    plaintext = AESGCM(raw_key).decrypt(
        b64url_decode(envelope["iv"]),
        b64url_decode(envelope["ct"]) + b64url_decode(envelope["tag"]),
        aad_bytes,
    )
    assert plaintext == b"interop"


def test_expires_at_is_carried_and_enforced(provider: LocalCryptoProvider) -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    envelope = provider.encrypt(b"v", AAD, expires_at=future)
    assert ISO_MS.fullmatch(envelope["expiresAt"])
    assert provider.decrypt(envelope, AAD) == b"v"
    past = provider.encrypt(b"v", AAD, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(CryptoError, match=r"^Crypto envelope expired$"):
        provider.decrypt(past, AAD)


def test_unreadable_expiry_fails_closed(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"v", AAD, expires_at=datetime.now(UTC) + timedelta(days=1))
    for garbage in ("soon", 12, ""):
        with pytest.raises(CryptoError, match=r"not a valid timestamp"):
            provider.decrypt({**envelope, "expiresAt": garbage}, AAD)


@pytest.mark.parametrize("field", ["ct", "tag", "iv"])
def test_tampered_bytes_rejected(provider: LocalCryptoProvider, field: str) -> None:
    envelope = provider.encrypt(b"secret-value-123", AAD)
    with pytest.raises(CryptoError, match=r"authentication failed"):
        provider.decrypt({**envelope, field: _flip(envelope[field])}, AAD)


def test_truncated_tag_and_iv_rejected(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"secret", AAD)
    for field, size in (("tag", 12), ("iv", 8)):
        short = b64url_encode(b64url_decode(envelope[field])[:size])
        with pytest.raises(CryptoError, match=r"authentication failed"):
            provider.decrypt({**envelope, field: short}, AAD)


def test_tampered_aad_hash_rejected(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"secret", AAD)
    with pytest.raises(CryptoError, match=r"^AAD hash mismatch$"):
        provider.decrypt({**envelope, "aadHash": _flip(envelope["aadHash"])}, AAD)
    without = {k: v for k, v in envelope.items() if k != "aadHash"}
    with pytest.raises(CryptoError, match=r"^AAD hash mismatch$"):
        provider.decrypt(without, AAD)


def test_wrong_aad_rejected(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"secret", AAD)
    with pytest.raises(CryptoError, match=r"^AAD hash mismatch$"):
        provider.decrypt(envelope, {**AAD, "type": "phone"})
    # a forger who also recomputes aadHash still fails the GCM tag
    other = {**AAD, "type": "phone"}
    digest = hashlib.sha256(canonicalize_crypto_aad(other).encode()).digest()
    forged = {**envelope, "aadHash": b64url_encode(digest)}
    with pytest.raises(CryptoError, match=r"authentication failed"):
        provider.decrypt(forged, other)


def test_nfkc_equivalent_aad_accepted(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(
        b"v", {_fullwidth("path"): _fullwidth("messages"), "n": [1, "\u2460"]}
    )
    assert provider.decrypt(envelope, {"path": "messages", "n": [1, "1"]}) == b"v"


def test_aad_key_collision_refused(provider: LocalCryptoProvider) -> None:
    with pytest.raises(CryptoError, match=r'^crypto AAD NFKC key collision: "path"$'):
        provider.encrypt(b"v", {"path": 1, _fullwidth("path"): 2})


def test_unknown_kid(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"v", AAD)
    with pytest.raises(CryptoError, match=r"^Unknown key id in envelope: local-0-000000$"):
        provider.decrypt({**envelope, "kid": "local-0-000000"}, AAD)
    with pytest.raises(CryptoError, match=r"Unknown key id"):
        provider.decrypt({k: v for k, v in envelope.items() if k != "kid"}, AAD)


def test_wrong_alg(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"v", AAD)
    with pytest.raises(CryptoError, match=r"^Unsupported local crypto algorithm: AES-128-CBC$"):
        provider.decrypt({**envelope, "alg": "AES-128-CBC"}, AAD)


@pytest.mark.parametrize(
    ("changes", "shown"),
    [({"aadEncoding": "json-v3"}, "json-v3"), ({"v": 3, "aadEncoding": None}, "v3")],
)
def test_unsupported_aad_encoding(provider: LocalCryptoProvider, changes: dict, shown: str) -> None:
    envelope = {**provider.encrypt(b"v", AAD), **changes}
    envelope = {k: v for k, v in envelope.items() if v is not None}
    with pytest.raises(CryptoError, match=rf"^Unsupported crypto AAD encoding: {shown}$"):
        provider.decrypt(envelope, AAD)


def test_check_order_alg_before_expiry_before_kid(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"v", AAD, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    everything_wrong = {**envelope, "alg": "X", "kid": "nope", "aadEncoding": "bad"}
    with pytest.raises(CryptoError, match=r"Unsupported local crypto algorithm"):
        provider.decrypt(everything_wrong, AAD)
    with pytest.raises(CryptoError, match=r"expired"):
        provider.decrypt({**everything_wrong, "alg": "AES-256-GCM"}, AAD)
    fresh = provider.encrypt(b"v", AAD)
    with pytest.raises(CryptoError, match=r"Unknown key id"):
        provider.decrypt({**fresh, "kid": "nope", "aadEncoding": "bad"}, AAD)
    with pytest.raises(CryptoError, match=r"Unsupported crypto AAD encoding"):
        provider.decrypt({**fresh, "aadEncoding": "bad", "aadHash": "x"}, AAD)


def test_legacy_v1_envelope_uses_plain_canonicalization(
    provider: LocalCryptoProvider, key_path: Path
) -> None:
    """A v1 envelope as the reference wrote it: no aadEncoding, AAD = canonicalize(aad)."""
    aad = {"path": _fullwidth("p")}  # NFKC would change it, so only plain canonicalization opens it
    raw_key = load_key_file(key_path).active.key
    aad_bytes = canonicalize(aad).encode()
    iv = os.urandom(12)
    sealed = AESGCM(raw_key).encrypt(iv, b"legacy", aad_bytes)
    legacy = {
        "v": 1,
        "alg": "AES-256-GCM",
        "kid": provider.active_kid,
        "iv": b64url_encode(iv),
        "ct": b64url_encode(sealed[:-16]),
        "tag": b64url_encode(sealed[-16:]),
        "aadHash": b64url_encode(hashlib.sha256(aad_bytes).digest()),
    }
    assert provider.decrypt(legacy, aad) == b"legacy"
    with pytest.raises(CryptoError):
        provider.decrypt({**legacy, "aadEncoding": "nfkc-json-v2"}, aad)


def test_malformed_envelopes_fail_closed(provider: LocalCryptoProvider) -> None:
    envelope = provider.encrypt(b"v", AAD)
    with pytest.raises(CryptoError):
        provider.decrypt("not an envelope", AAD)  # type: ignore[arg-type]
    for field in ("iv", "ct", "tag"):
        with pytest.raises(CryptoError):
            provider.decrypt({**envelope, field: 12345}, AAD)


def test_errors_never_echo_the_plaintext(provider: LocalCryptoProvider) -> None:
    secret = "4111-1111-1111-1111"
    envelope = provider.encrypt(secret.encode(), AAD)
    messages = []
    for bad in ({**envelope, "ct": _flip(envelope["ct"])}, {**envelope, "kid": "x"}):
        with pytest.raises(CryptoError) as caught:
            provider.decrypt(bad, AAD)
        messages.append(str(caught.value))
    assert secret not in " ".join(messages)
    assert secret not in json.dumps(envelope)


def test_plaintext_must_be_bytes(provider: LocalCryptoProvider) -> None:
    with pytest.raises(TypeError):
        provider.encrypt("text", AAD)  # type: ignore[arg-type]
