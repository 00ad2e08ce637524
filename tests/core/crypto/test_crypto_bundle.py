from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from haechi.canonical import b64url_encode, canonicalize
from haechi.crypto.bundle import sign_policy_bundle, verify_policy_bundle
from haechi.crypto.keyfile import load_key_file, rotate_key_file
from haechi.crypto.local import LocalCryptoProvider
from haechi.errors import PolicyError

POLICY = {
    "mode": "enforce",
    "actions": {"card": "block", "email": "tokenize"},
    "presets": ["korean-pii"],
}


def test_format_and_independent_signature(provider: LocalCryptoProvider, key_path: Path) -> None:
    bundle = sign_policy_bundle(POLICY, provider)
    assert list(bundle) == ["version", "alg", "kid", "signedAt", "policy", "signature"]
    assert (bundle["version"], bundle["alg"], bundle["kid"]) == (1, "HS256", provider.active_kid)
    raw_key = load_key_file(key_path).active.key
    k_sign = hmac.new(raw_key, b"haechi:policy-bundle:signing:v1", hashlib.sha256).digest()
    signed = canonicalize({k: bundle[k] for k in ("version", "alg", "kid", "signedAt", "policy")})
    assert bundle["signature"] == b64url_encode(
        hmac.new(k_sign, signed.encode(), hashlib.sha256).digest()
    )
    result = verify_policy_bundle(json.loads(json.dumps(bundle)), provider)
    assert result == {
        "valid": True,
        "kid": bundle["kid"],
        "signedAt": bundle["signedAt"],
        "policy": POLICY,
    }


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b["policy"]["actions"].__setitem__("card", "allow"),
        lambda b: b.__setitem__("signedAt", "2020-01-01T00:00:00.000Z"),
        lambda b: b.__setitem__(
            "signature", b["signature"][:-2] + ("AA" if b["signature"][-2:] != "AA" else "BB")
        ),
        lambda b: b.__setitem__("signature", ""),
    ],
)
def test_tampered_bundle_fails(provider: LocalCryptoProvider, tamper) -> None:
    bundle = copy.deepcopy(sign_policy_bundle(POLICY, provider))
    tamper(bundle)
    with pytest.raises(PolicyError, match=r"^Policy bundle signature verification failed$"):
        verify_policy_bundle(bundle, provider)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"alg": "HS256"},
        "alg=none",
        "version",
        "policy",
    ],
)
def test_invalid_bundle(provider: LocalCryptoProvider, bad) -> None:
    bundle = sign_policy_bundle(POLICY, provider)
    if bad == "alg=none":
        bad = {**bundle, "alg": "none"}
    elif bad == "version":
        bad = {**bundle, "version": 2}
    elif bad == "policy":
        bad = {**bundle, "policy": None}
    with pytest.raises(PolicyError, match=r"^Invalid policy bundle$"):
        verify_policy_bundle(bad, provider)


def test_retired_kid_still_verifies_and_unknown_kid_refused(key_path: Path) -> None:
    bundle = sign_policy_bundle(POLICY, LocalCryptoProvider(key_path))
    rotate_key_file(key_path)
    rotated = LocalCryptoProvider(key_path)
    assert rotated.active_kid != bundle["kid"]
    assert verify_policy_bundle(bundle, rotated)["valid"] is True
    assert sign_policy_bundle(POLICY, rotated)["kid"] == rotated.active_kid
    with pytest.raises(PolicyError, match=r"Signing key not found: local-other"):
        verify_policy_bundle({**bundle, "kid": "local-other"}, rotated)


def test_bundle_from_another_key_file_fails(tmp_path: Path, provider: LocalCryptoProvider) -> None:
    bundle = sign_policy_bundle(POLICY, provider)
    other_path = tmp_path / "other.json"
    rotate_key_file(other_path)
    other = LocalCryptoProvider(other_path)
    forged = {**bundle, "kid": other.active_kid}
    with pytest.raises(PolicyError, match=r"verification failed"):
        verify_policy_bundle(forged, other)
