"""Signed policy bundles (§4): ``{version:1, alg:"HS256", kid, signedAt, policy,
signature}`` where ``signature = b64url(HMAC-SHA256(K_sign, canonicalize({version, alg,
kid, signedAt, policy})))`` and ``K_sign = HMAC-SHA256(rawKey[kid],
"haechi:policy-bundle:signing:v1")``.

That two-step derivation is exactly the provider's domain-separated ``hmac``, so a
bundle is signed and verified through ``provider.hmac(..., kid=...)`` and never touches
raw key material here. Verification uses the bundle's own ``kid``, so a bundle signed
before a rotation (now a retired key) still verifies.
"""

from __future__ import annotations

import hmac as hmac_lib
from typing import Any

from haechi.canonical import b64url_encode, canonicalize
from haechi.crypto.domains import POLICY_BUNDLE_SIGNING
from haechi.errors import CryptoError, PolicyError
from haechi.isotime import to_iso, utc_now

__all__ = ["BUNDLE_ALG", "BUNDLE_VERSION", "sign_policy_bundle", "verify_policy_bundle"]

BUNDLE_VERSION = 1
BUNDLE_ALG = "HS256"


def _signature(provider: Any, signed_fields: dict[str, Any]) -> str:
    try:
        digest_hex = provider.hmac(
            canonicalize(signed_fields), POLICY_BUNDLE_SIGNING, kid=signed_fields["kid"]
        )
    except CryptoError:
        raise PolicyError(f"Signing key not found: {signed_fields['kid']}") from None
    return b64url_encode(bytes.fromhex(digest_hex))


def sign_policy_bundle(policy: dict[str, Any], provider: Any) -> dict[str, Any]:
    """Sign ``policy`` with the provider's active key."""
    if not isinstance(policy, dict):
        raise PolicyError("A policy bundle can only sign a JSON object policy")
    signed_fields = {
        "version": BUNDLE_VERSION,
        "alg": BUNDLE_ALG,
        "kid": provider.active_kid,
        "signedAt": to_iso(utc_now()),
        "policy": policy,
    }
    return {**signed_fields, "signature": _signature(provider, signed_fields)}


def verify_policy_bundle(bundle: dict[str, Any], provider: Any) -> dict[str, Any]:
    """Check a bundle's signature in constant time.

    :returns: ``{"valid": True, "kid", "signedAt", "policy"}``.
    :raises PolicyError: ``Invalid policy bundle`` (wrong shape or algorithm),
        ``Signing key not found: <kid>``, or ``Policy bundle signature verification failed``.
    """
    if (
        not isinstance(bundle, dict)
        or bundle.get("version") != BUNDLE_VERSION
        or bundle.get("alg") != BUNDLE_ALG
        or not isinstance(bundle.get("kid"), str)
        or not isinstance(bundle.get("signedAt"), str)
        or not isinstance(bundle.get("policy"), dict)
        or not isinstance(bundle.get("signature"), str)
    ):
        raise PolicyError("Invalid policy bundle")
    signed_fields = {name: bundle[name] for name in ("version", "alg", "kid", "signedAt", "policy")}
    expected = _signature(provider, signed_fields)
    if not hmac_lib.compare_digest(
        expected.encode("ascii"), bundle["signature"].encode("utf-8", "replace")
    ):
        raise PolicyError("Policy bundle signature verification failed")
    return {
        "valid": True,
        "kid": bundle["kid"],
        "signedAt": bundle["signedAt"],
        "policy": bundle["policy"],
    }
