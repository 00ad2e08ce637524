"""Keys and cryptography: the local key file, the AES-256-GCM envelope (v2, NFKC
canonical AAD), domain-separated HMAC, the nonce budget, provider conformance and
signed policy bundles (§4, §8)."""

from __future__ import annotations

from haechi.crypto.bundle import sign_policy_bundle, verify_policy_bundle
from haechi.crypto.conformance import assert_crypto_provider_conformance
from haechi.crypto.keyfile import (
    KeyEntry,
    KeyFile,
    create_key_file,
    key_file_permissions,
    load_key_file,
    rotate_key_file,
)
from haechi.crypto.local import LocalCryptoProvider
from haechi.crypto.nonce_budget import read_nonce_budget

__all__ = [
    "KeyEntry",
    "KeyFile",
    "LocalCryptoProvider",
    "assert_crypto_provider_conformance",
    "create_key_file",
    "key_file_permissions",
    "load_key_file",
    "read_nonce_budget",
    "rotate_key_file",
    "sign_policy_bundle",
    "verify_policy_bundle",
]
