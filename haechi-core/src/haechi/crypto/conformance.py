"""The contract every crypto provider must meet, as an executable self-test.

``haechi-crypto-kms`` and any other provider run :func:`assert_crypto_provider_conformance`
in their tests (and ``keys.provider`` may run it at start-up). It checks AEAD behaviour,
not formats: a provider may use its own envelope shape as long as it carries a ``kid``
and an ``aadHash``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from haechi.canonical import b64url_decode, b64url_encode
from haechi.crypto.domains import CONFORMANCE, CONFORMANCE_A, CONFORMANCE_B
from haechi.errors import CryptoError

__all__ = ["assert_crypto_provider_conformance"]

_AAD = {"purpose": "conformance", "path": "messages[0].content", "type": "email"}


def assert_crypto_provider_conformance(provider: Any, *, require_hmac: bool = True) -> None:
    """Run every conformance check against ``provider`` and report all failures at once.

    Checks: two distinct plaintexts round-trip; the envelope has ``kid`` and
    ``aadHash``; a different AAD and a tampered ``ct`` are rejected; and, with
    ``require_hmac``, ``hmac`` is deterministic, depends on the data, separates domains
    and refuses an empty or missing domain.

    :raises CryptoError: ``cryptoProvider conformance failed: <check>: <reason>; ...``.
    """
    if not callable(getattr(provider, "encrypt", None)) or not callable(
        getattr(provider, "decrypt", None)
    ):
        raise CryptoError("cryptoProvider must implement encrypt() and decrypt()")
    failures: list[str] = []

    def check(name: str, probe: Callable[[], None]) -> None:
        try:
            probe()
        except _Failed as failure:
            failures.append(f"{name}: {failure}")
        except Exception as error:  # a crash is a failure of the contract, with its type only
            failures.append(f"{name}: raised {type(error).__name__}")

    check("encrypt/decrypt round-trip", lambda: _round_trip(provider))
    check("decrypt rejects a different AAD", lambda: _rejects_other_aad(provider))
    check("decrypt rejects tampered ciphertext", lambda: _rejects_tampered_ct(provider))
    if require_hmac:
        if not callable(getattr(provider, "hmac", None)):
            failures.append(
                "hmac: provider does not implement hmac() (required for tokens, auth and bundles)"
            )
        else:
            check("hmac is deterministic and data-dependent", lambda: _hmac_deterministic(provider))
            check("hmac separates domains", lambda: _hmac_domains(provider))
            check("hmac requires a domain", lambda: _hmac_requires_domain(provider))
    if failures:
        raise CryptoError("cryptoProvider conformance failed: " + "; ".join(failures))


class _Failed(Exception):
    pass


def _expect(condition: bool, reason: str) -> None:
    if not condition:
        raise _Failed(reason)


def _sample() -> bytes:
    return f"conformance-{secrets.token_hex(8)}@example.com".encode()


def _rejects(call: Callable[[], Any]) -> bool:
    try:
        call()
    except Exception:
        return True
    return False


def _round_trip(provider: Any) -> None:
    first, second = _sample(), _sample()
    envelope = provider.encrypt(first, _AAD)
    _expect(isinstance(envelope, dict), "encrypt must return an envelope object")
    _expect(bool(envelope.get("kid")), "envelope must carry a key id (kid)")
    _expect(bool(envelope.get("aadHash")), "envelope must carry an aadHash")
    _expect(
        provider.decrypt(envelope, _AAD) == first, "decrypt did not return the original plaintext"
    )
    _expect(
        provider.decrypt(provider.encrypt(second, _AAD), _AAD) == second,
        "decrypt did not return the second plaintext (fixed output)",
    )


def _rejects_other_aad(provider: Any) -> None:
    envelope = provider.encrypt(_sample(), _AAD)
    _expect(
        _rejects(lambda: provider.decrypt(envelope, {**_AAD, "type": "phone"})),
        "decrypt accepted a mismatched AAD (no AAD binding)",
    )


def _rejects_tampered_ct(provider: Any) -> None:
    envelope = provider.encrypt(_sample(), _AAD)
    _expect(
        isinstance(envelope.get("ct"), str) and envelope["ct"],
        "envelope must carry a ciphertext (ct)",
    )
    tampered = bytearray(b64url_decode(envelope["ct"]))
    tampered[0] ^= 0xFF
    forged = {**envelope, "ct": b64url_encode(bytes(tampered))}
    _expect(
        _rejects(lambda: provider.decrypt(forged, _AAD)),
        "decrypt accepted tampered ciphertext (no AEAD authentication)",
    )


def _hmac_deterministic(provider: Any) -> None:
    first = provider.hmac("x", CONFORMANCE)
    _expect(isinstance(first, str) and bool(first), "hmac must return a non-empty string")
    _expect(
        first == provider.hmac("x", CONFORMANCE),
        "hmac is not deterministic for the same data and domain",
    )
    _expect(first != provider.hmac("y", CONFORMANCE), "hmac ignores the data argument")


def _hmac_domains(provider: Any) -> None:
    _expect(
        provider.hmac("x", CONFORMANCE_A) != provider.hmac("x", CONFORMANCE_B),
        "hmac does not separate domains",
    )


def _hmac_requires_domain(provider: Any) -> None:
    for bad_domain in ("", None):
        _expect(
            _rejects(lambda bad=bad_domain: provider.hmac("x", bad)),
            f"hmac accepted an invalid domain ({bad_domain!r})",
        )
    _expect(_rejects(lambda: provider.hmac("x")), "hmac accepted a call without a domain")
