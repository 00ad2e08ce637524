from __future__ import annotations

from typing import Any

import pytest
from haechi.crypto.conformance import assert_crypto_provider_conformance
from haechi.crypto.local import LocalCryptoProvider
from haechi.errors import CryptoError


def test_local_provider_conforms(provider: LocalCryptoProvider) -> None:
    assert_crypto_provider_conformance(provider)


class _Wrapping:
    """Delegates to a real provider; subclasses break one property each."""

    def __init__(self, inner: LocalCryptoProvider):
        self.inner = inner

    def encrypt(self, plaintext: bytes, aad: Any, **kw: Any) -> dict:
        return self.inner.encrypt(plaintext, aad, **kw)

    def decrypt(self, envelope: dict, aad: Any) -> bytes:
        return self.inner.decrypt(envelope, aad)

    def hmac(self, data: str, domain: str) -> str:
        return self.inner.hmac(data, domain)


class _IgnoresAad(_Wrapping):
    def decrypt(self, envelope: dict, aad: Any) -> bytes:
        return self.inner.decrypt(
            envelope, {"purpose": "conformance", "path": "messages[0].content", "type": "email"}
        )


class _NoAuthentication:
    """XOR 'encryption' that stores the AAD hash but checks nothing."""

    def encrypt(self, plaintext: bytes, aad: Any, **kw: Any) -> dict:
        from haechi.canonical import b64url_encode

        return {
            "kid": "k",
            "aadHash": "h",
            "ct": b64url_encode(bytes(b ^ 0x5A for b in plaintext)),
            "aad": aad,
        }

    def decrypt(self, envelope: dict, aad: Any) -> bytes:
        from haechi.canonical import b64url_decode

        if envelope["aad"] != aad:
            raise ValueError("aad")
        return bytes(b ^ 0x5A for b in b64url_decode(envelope["ct"]))

    def hmac(self, data: str, domain: str) -> str:
        if not domain:
            raise ValueError("domain")
        return f"{domain}|{data}"


class _FixedOutput(_Wrapping):
    """Replays the first plaintext it ever decrypted."""

    first: bytes | None = None

    def decrypt(self, envelope: dict, aad: Any) -> bytes:
        plaintext = self.inner.decrypt(envelope, aad)
        self.first = self.first or plaintext
        return self.first


class _DomainBlindHmac(_Wrapping):
    def hmac(self, data: str, domain: str = "") -> str:
        return self.inner.hmac(data, "haechi:conformance:v1")


class _DataBlindHmac(_Wrapping):
    def hmac(self, data: str, domain: str) -> str:
        return self.inner.hmac("constant", domain)


class _NoKid(_Wrapping):
    def encrypt(self, plaintext: bytes, aad: Any, **kw: Any) -> dict:
        envelope = self.inner.encrypt(plaintext, aad)
        return {k: v for k, v in envelope.items() if k != "kid"} | {"kidx": envelope["kid"]}

    def decrypt(self, envelope: dict, aad: Any) -> bytes:
        return self.inner.decrypt({**envelope, "kid": envelope["kidx"]}, aad)


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (_IgnoresAad, "decrypt rejects a different AAD"),
        (_FixedOutput, "second plaintext"),
        (_DomainBlindHmac, "hmac does not separate domains"),
        (_DataBlindHmac, "hmac ignores the data argument"),
        (_NoKid, "envelope must carry a key id"),
    ],
)
def test_broken_providers_fail_with_a_reason(
    provider: LocalCryptoProvider, broken: type, reason: str
) -> None:
    with pytest.raises(CryptoError, match=r"cryptoProvider conformance failed") as caught:
        assert_crypto_provider_conformance(broken(provider))
    assert reason in str(caught.value)


def test_unauthenticated_cipher_fails_tamper_check() -> None:
    with pytest.raises(CryptoError, match=r"tampered ciphertext"):
        assert_crypto_provider_conformance(_NoAuthentication())


def test_hmac_requirement(provider: LocalCryptoProvider) -> None:
    class EncryptOnly:
        encrypt = provider.encrypt
        decrypt = provider.decrypt

    assert_crypto_provider_conformance(EncryptOnly(), require_hmac=False)
    with pytest.raises(CryptoError, match=r"does not implement hmac"):
        assert_crypto_provider_conformance(EncryptOnly())
    with pytest.raises(CryptoError, match=r"must implement encrypt"):
        assert_crypto_provider_conformance(object())
