"""Vault token formats (§6) and the audit-safe form of a token argument.

- random (default): ``tok_<type>_<sha256hex(plaintext + ":" + 16 random bytes hex)[:16]>``
- deterministic: ``tok_<type>_<hmac(domain, "<type>:<plaintext>")[:32]>`` with the domain
  ``haechi:token-vault:deterministic:v1``
  (the active key's HMAC, so a key rotation changes every deterministic token).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from haechi.crypto.domains import TOKEN_VAULT_AUDIT_ID, TOKEN_VAULT_DETERMINISTIC

__all__ = ["VAULT_TOKEN_SHAPE", "audit_safe_token", "deterministic_token", "random_token"]

#: What a vault token looks like; anything else given where a token is expected is
#: treated as a possibly raw value and never logged verbatim.
VAULT_TOKEN_SHAPE = re.compile(r"tok_[a-z0-9_]+_[a-f0-9]{16,}")


def random_token(plaintext: str, type_: str) -> str:
    salted = f"{plaintext}:{secrets.token_hex(16)}".encode("utf-8", "surrogatepass")
    return f"tok_{type_}_{hashlib.sha256(salted).hexdigest()[:16]}"


def deterministic_token(plaintext: str, type_: str, crypto: Any) -> str:
    return f"tok_{type_}_{crypto.hmac(f'{type_}:{plaintext}', TOKEN_VAULT_DETERMINISTIC)[:32]}"


def audit_safe_token(token: Any, crypto: Any) -> str | None:
    """The ``token`` field of a vault audit event: a vault-shaped token as is; anything
    else as ``nontoken_<hmac(audit-id domain)[:32]>``, or ``[REDACTED:non-token]`` when
    the provider has no ``hmac``. None stays None."""
    if token is None:
        return None
    if isinstance(token, str) and VAULT_TOKEN_SHAPE.fullmatch(token):
        return token
    if callable(getattr(crypto, "hmac", None)):
        return f"nontoken_{crypto.hmac(str(token), TOKEN_VAULT_AUDIT_ID)[:32]}"
    return "[REDACTED:non-token]"
