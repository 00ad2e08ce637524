"""HMAC domain labels. Every keyed hash in Haechi derives its own key from the raw
key file entry with one of these labels (``HMAC-SHA256(rawKey, domain)``), so outputs
of one use can never be replayed as outputs of another. The strings are part of the
wire contract with the reference implementation: never change one."""

from __future__ import annotations

__all__ = [
    "AUTH_TOKEN",
    "CONFORMANCE",
    "CONFORMANCE_A",
    "CONFORMANCE_B",
    "CRYPTO_KMS_HMAC_ROOT",
    "IDENTITY_HASH",
    "OIDC_REFRESH_TOKEN",
    "OIDC_SESSION_ID_HASH",
    "POLICY_BUNDLE_SIGNING",
    "TOKEN_VAULT_AUDIT_ID",
    "TOKEN_VAULT_DETERMINISTIC",
]

#: Deterministic vault tokens: ``data = "<type>:<plaintext>"``.
TOKEN_VAULT_DETERMINISTIC = "haechi:token-vault:deterministic:v1"  # noqa: S105 (a label, not a secret)
#: The audit-safe stand-in for a value that is not a vault token.
TOKEN_VAULT_AUDIT_ID = "haechi:token-vault:audit-id:v1"  # noqa: S105 (a label, not a secret)
#: Bearer token hashes.
AUTH_TOKEN = "haechi:auth:token:v1"  # noqa: S105 (a label, not a secret)
#: Subject and issuer hashes of an identity.
IDENTITY_HASH = "haechi:identity:hash:v1"
#: The key that signs policy bundles.
POLICY_BUNDLE_SIGNING = "haechi:policy-bundle:signing:v1"
#: Satellites: the KMS HKDF root info, the OIDC refresh-token AAD, the OIDC session id hash.
CRYPTO_KMS_HMAC_ROOT = "haechi:crypto-kms:hmac-root:v1"
OIDC_REFRESH_TOKEN = "haechi:oidc:refresh-token:v1"  # noqa: S105 (a label, not a secret)
OIDC_SESSION_ID_HASH = "haechi:oidc:session-id:hash:v1"
#: Provider conformance self-test.
CONFORMANCE = "haechi:conformance:v1"
CONFORMANCE_A = "haechi:conformance:a"
CONFORMANCE_B = "haechi:conformance:b"
