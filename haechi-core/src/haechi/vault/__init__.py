"""The token vault (§6): tokens in place of values, envelopes at rest, request-scoped
detokenize, and the store seam with SQLite as the default backend."""

from __future__ import annotations

from haechi.vault.scope import StreamingDetokenizer, TokenScope
from haechi.vault.sqlite_store import SqliteTokenStore
from haechi.vault.store import TokenRecord, TokenStore
from haechi.vault.tokens import VAULT_TOKEN_SHAPE, audit_safe_token
from haechi.vault.vault import TokenIssue, TokenVault

__all__ = [
    "VAULT_TOKEN_SHAPE",
    "SqliteTokenStore",
    "StreamingDetokenizer",
    "TokenIssue",
    "TokenRecord",
    "TokenScope",
    "TokenStore",
    "TokenVault",
    "audit_safe_token",
]
