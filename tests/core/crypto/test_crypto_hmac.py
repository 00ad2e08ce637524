from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from haechi.crypto import domains
from haechi.crypto.keyfile import load_key_file, rotate_key_file
from haechi.crypto.local import LocalCryptoProvider
from haechi.errors import CryptoError


def test_two_step_derivation(provider: LocalCryptoProvider, key_path: Path) -> None:
    raw_key = load_key_file(key_path).active.key
    derived = hmac.new(raw_key, domains.AUTH_TOKEN.encode(), hashlib.sha256).digest()
    expected = hmac.new(derived, b"hae_token", hashlib.sha256).hexdigest()
    assert provider.hmac("hae_token", domains.AUTH_TOKEN) == expected
    # and never the raw key directly
    assert (
        provider.hmac("hae_token", domains.AUTH_TOKEN)
        != hmac.new(raw_key, b"hae_token", hashlib.sha256).hexdigest()
    )


def test_domain_separation(provider: LocalCryptoProvider) -> None:
    labels = [
        value for name, value in vars(domains).items() if name.isupper() and isinstance(value, str)
    ]
    outputs = {provider.hmac("same data", label) for label in labels}
    assert len(labels) == len(outputs) == 11


def test_domain_labels_are_the_wire_strings() -> None:
    assert domains.TOKEN_VAULT_DETERMINISTIC == "haechi:token-vault:deterministic:v1"
    assert domains.TOKEN_VAULT_AUDIT_ID == "haechi:token-vault:audit-id:v1"
    assert domains.POLICY_BUNDLE_SIGNING == "haechi:policy-bundle:signing:v1"
    assert domains.IDENTITY_HASH == "haechi:identity:hash:v1"


@pytest.mark.parametrize("bad", ["", None, 7])
def test_empty_or_missing_domain_refused(provider: LocalCryptoProvider, bad: object) -> None:
    with pytest.raises(CryptoError, match=r"non-empty domain"):
        provider.hmac("x", bad)  # type: ignore[arg-type]


def test_rotation_changes_output_and_kid_selects_retired_key(key_path: Path) -> None:
    before = LocalCryptoProvider(key_path)
    old_kid, old_out = before.active_kid, before.hmac("x", domains.CONFORMANCE)
    rotate_key_file(key_path)
    after = LocalCryptoProvider(key_path)
    assert after.hmac("x", domains.CONFORMANCE) != old_out
    assert after.hmac("x", domains.CONFORMANCE, kid=old_kid) == old_out
    with pytest.raises(CryptoError, match=r"Unknown key id"):
        after.hmac("x", domains.CONFORMANCE, kid="local-missing")
