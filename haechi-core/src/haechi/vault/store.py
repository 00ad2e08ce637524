"""The token store seam: where vault records live.

A store holds :class:`TokenRecord` objects, each with an encrypted envelope and its
AAD, never a plaintext. The built-in store is SQLite
(:class:`haechi.vault.sqlite_store.SqliteTokenStore`); another backend registers a
class with a unique ``NAME`` through ``haechi_register_token_stores`` and implements
:class:`TokenStore`. Every method must be safe to call from several threads and from
several processes sharing the same backing store.

A store may also offer ``issue_many(records, *, now) -> list[bool]``: :meth:`TokenStore.issue`
for each record in turn as one atomic step. The vault uses it to write the tokens of a
whole protect batch at once (:meth:`haechi.vault.vault.TokenVault.deferred_issues`) and
falls back to one ``issue`` per record when a store has none.

Timestamps are ISO strings from :func:`haechi.isotime.to_iso`; they all have
one fixed width, so comparing the strings compares the times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

__all__ = ["TokenRecord", "TokenStore"]


@attrs.frozen(slots=True)
class TokenRecord:
    """One vault entry. ``metadata`` is ``{"path": pathText, "ruleId": ...}``; ``aad``
    is ``{"purpose": "token-vault", "token", "type", "context"}``."""

    token: str
    type: str
    created_at: str
    expires_at: str
    metadata: Mapping[str, Any]
    envelope: Mapping[str, Any]
    aad: Mapping[str, Any]


@runtime_checkable
class TokenStore(Protocol):
    NAME: ClassVar[str]

    def issue(self, record: TokenRecord, *, now: str) -> bool:
        """In one atomic step: drop every record that expired before ``now``; then, if
        ``record.token`` exists, replace its ``expires_at``, ``envelope`` and ``aad``
        with ``record``'s (keeping ``created_at`` and ``metadata``) and return True
        (reused); otherwise store ``record`` and return False."""

    def get(self, token: str) -> TokenRecord | None:
        """The record of ``token`` or None."""

    def delete(self, token: str) -> bool:
        """Remove ``token``; True when it existed."""

    def delete_expired(self, now: str) -> int:
        """Remove every record that expired before ``now``; the number removed."""

    def records(self, type_: str | None = None) -> list[TokenRecord]:
        """Every record (of one type when ``type_`` is given), oldest first."""

    def close(self) -> None:
        """Release the backing resources."""
