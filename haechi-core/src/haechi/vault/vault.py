"""The token vault (§6): swaps a detected value for an opaque token and keeps the value
only as an AES-256-GCM envelope in a :class:`~haechi.vault.store.TokenStore`.

One deliberate difference from the reference (docs/decisions/0004-token-vault-store.md):
when a token is reused, its envelope is sealed again with the refreshed ``expiresAt``
(and the current request's context in the AAD), so the record's and the envelope's
expiry never disagree and a refreshed token stays revealable until the record expires.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from haechi.errors import HaechiError, TokenVaultError
from haechi.isotime import parse_iso, to_iso, utc_now
from haechi.vault.events import VaultDecision, VaultOperation, vault_event
from haechi.vault.scope import TokenScope
from haechi.vault.store import TokenRecord, TokenStore
from haechi.vault.tokens import audit_safe_token, deterministic_token, random_token

__all__ = ["REVEAL_POLICIES", "RevealPolicy", "TokenIssue", "TokenVault"]

RevealPolicy = Literal["disabled", "local-dev"]
REVEAL_POLICIES: tuple[str, ...] = ("disabled", "local-dev")
AuditCallable = Callable[[dict[str, Any]], object]


@attrs.frozen(slots=True)
class TokenIssue:
    """The token that stands for a value; ``reused`` when the vault already held it
    (None while the write is deferred, see :meth:`TokenVault.deferred_issues`)."""

    token: str
    reused: bool | None


class TokenVault:
    """Tokenize, reveal, purge and export. Every governance decision is passed to
    ``audit`` as a kind-D event before the call returns, so a failing audit sink stops
    a reveal before any plaintext leaves the vault."""

    def __init__(
        self,
        store: TokenStore,
        crypto: Any,
        *,
        retention_days: float = 30,
        deterministic: bool = False,
        deterministic_types: Collection[str] | None = None,
        reveal_policy: RevealPolicy = "disabled",
        audit: AuditCallable | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        if (
            isinstance(retention_days, bool)
            or not isinstance(retention_days, int | float)
            or not retention_days >= 1
        ):
            raise TokenVaultError("tokenVault.retentionDays must be a number of at least 1")
        if reveal_policy not in REVEAL_POLICIES:
            raise TokenVaultError("tokenVault.revealPolicy must be disabled or local-dev")
        if deterministic and not callable(getattr(crypto, "hmac", None)):
            raise TokenVaultError(
                "Deterministic tokenization requires a crypto provider with hmac()"
            )
        self.store = store
        self.crypto = crypto
        self.clock = clock
        self._retention = timedelta(days=retention_days)
        self._deterministic = deterministic
        self._deterministic_types = (
            frozenset(deterministic_types) if deterministic_types is not None else None
        )
        self.reveal_policy: RevealPolicy = reveal_policy
        self._audit = audit
        self._deferred = threading.local()

    # -- tokenize --------------------------------------------------------------------

    def _is_deterministic(self, type_: str) -> bool:
        return self._deterministic and (
            self._deterministic_types is None or type_ in self._deterministic_types
        )

    def tokenize(
        self, value: str, type: str, *, path_text: str, rule_id: str, context: Mapping[str, Any]
    ) -> TokenIssue:
        """Store ``value`` sealed under a token of ``type`` (or refresh an existing one)."""
        if not isinstance(value, str) or not isinstance(type, str) or not type:
            raise TokenVaultError("tokenize needs a string value and a non-empty type")
        token = (
            deterministic_token(value, type, self.crypto)
            if self._is_deterministic(type)
            else random_token(value, type)
        )
        now = self.clock()
        expires_at = now + self._retention
        aad = {"purpose": "token-vault", "token": token, "type": type, "context": dict(context)}
        record = TokenRecord(
            token=token,
            type=type,
            created_at=to_iso(now),
            expires_at=to_iso(expires_at),
            metadata={"path": path_text, "ruleId": rule_id},
            envelope=self.crypto.encrypt(
                value.encode("utf-8", "surrogatepass"), aad, expires_at=expires_at
            ),
            aad=aad,
        )
        pending: list[TokenRecord] | None = getattr(self._deferred, "records", None)
        if pending is not None:
            pending.append(record)
            return TokenIssue(token=token, reused=None)
        return TokenIssue(token=token, reused=self.store.issue(record, now=to_iso(now)))

    @contextlib.contextmanager
    def deferred_issues(self) -> Iterator[None]:
        """Within the block, this thread's tokenize calls queue their records; on a clean
        exit they are written together (one transaction with a store that has
        ``issue_many``). The proxy wraps each protect batch in it: a batch of 16 requests
        with two tokens each commits once instead of 32 times.

        The write happens before the block's results are used, so no token leaves the
        process before its record is stored; if it fails, the exception propagates and
        every payload of the block must be discarded (the caller fails them all). A block
        left by an exception writes nothing.
        """
        if getattr(self._deferred, "records", None) is not None:
            yield  # already deferring on this thread: the outer block writes
            return
        pending: list[TokenRecord] = []
        self._deferred.records = pending
        try:
            yield
        finally:
            self._deferred.records = None
        if pending:
            self._issue_all(pending)

    def _issue_all(self, records: list[TokenRecord]) -> None:
        now = to_iso(self.clock())
        issue_many = getattr(self.store, "issue_many", None)
        if issue_many is not None:
            issue_many(records, now=now)
            return
        for record in records:
            self.store.issue(record, now=now)

    # -- reveal ----------------------------------------------------------------------

    def reveal(self, token: str, *, allow_dev_reveal: bool = False) -> tuple[str, str]:
        """``(type, plaintext)`` of ``token`` when the reveal policy allows it.

        :raises TokenVaultError: ``Token reveal is disabled by tokenVault.revealPolicy``,
            ``Unknown token``, ``Token expired`` or ``Token decrypt failed``.
        """
        policy: RevealPolicy = "local-dev" if allow_dev_reveal else self.reveal_policy
        if policy == "disabled":
            self._record(
                "token-vault:reveal",
                "reveal_denied",
                policy,
                token=token,
                reason="reveal_policy_disabled",
            )
            raise TokenVaultError("Token reveal is disabled by tokenVault.revealPolicy")
        try:
            record = self.store.get(token) if isinstance(token, str) else None
        except HaechiError:
            self._record(
                "token-vault:reveal", "reveal_failed", policy, token=token, reason="reveal_error"
            )
            raise
        if record is None:
            self._record(
                "token-vault:reveal", "reveal_failed", policy, token=token, reason="unknown_token"
            )
            raise TokenVaultError("Unknown token")
        if self.is_expired(record):
            self._record(
                "token-vault:reveal", "reveal_failed", policy, token=token, reason="token_expired"
            )
            raise TokenVaultError("Token expired")
        plaintext = self._open(record)
        if plaintext is None:
            self._record(
                "token-vault:reveal", "reveal_failed", policy, token=token, reason="decrypt_failed"
            )
            raise TokenVaultError("Token decrypt failed")
        self._record(
            "token-vault:reveal", "reveal_allowed", policy, token=token, token_type=record.type
        )
        return record.type, plaintext

    def is_expired(self, record: TokenRecord) -> bool:
        try:
            return parse_iso(record.expires_at) < self.clock()
        except ValueError:
            return True  # an unreadable expiry is treated as expired (fail closed)

    def _open(self, record: TokenRecord) -> str | None:
        """The plaintext of ``record``, or None when its envelope does not open."""
        try:
            return self.crypto.decrypt(record.envelope, record.aad).decode("utf-8", "surrogatepass")
        except Exception:  # any provider failure means "not restorable", never a leak
            return None

    # -- purge and export ------------------------------------------------------------

    def purge(self, token: str) -> dict[str, Any]:
        """Remove ``token``: ``{"token", "purged": bool, "purgedAt"}``."""
        now = self.clock()
        self.store.delete_expired(to_iso(now))
        purged = isinstance(token, str) and self.store.delete(token)
        self._record("token-vault:purge", "purge", self.reveal_policy, token=token)
        return {"token": token, "purged": purged, "purgedAt": to_iso(now)}

    def purge_expired(self) -> int:
        """Remove every expired record; the number removed."""
        count = self.store.delete_expired(to_iso(self.clock()))
        self._record("token-vault:purge-expired", "purge_expired", self.reveal_policy, count=count)
        return count

    def export(self, type: str | None = None) -> list[dict[str, Any]]:
        """Token metadata for ``token-export``; never an envelope or a plaintext."""
        return [
            {
                "token": record.token,
                "type": record.type,
                "createdAt": record.created_at,
                "expiresAt": record.expires_at,
                "metadata": {
                    "path": record.metadata.get("path"),
                    "ruleId": record.metadata.get("ruleId"),
                },
            }
            for record in self.store.records(type)
        ]

    # -- request scope and audit -----------------------------------------------------

    def scope(self) -> TokenScope:
        """A request-scoped view: tokens it issues are the only ones it restores."""
        return TokenScope(self)

    def _record(
        self,
        operation: VaultOperation,
        decision: VaultDecision,
        policy: str,
        **fields: Any,
    ) -> None:
        if self._audit is not None:
            self._audit(self._event(operation, decision, policy, **fields))

    def _event(
        self,
        operation: VaultOperation,
        decision: VaultDecision,
        policy: str,
        *,
        token: Any = None,
        token_type: str | None = None,
        reason: str | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        return vault_event(
            operation,
            decision,
            at=self.clock(),
            reveal_policy=policy,
            token=audit_safe_token(token, self.crypto),
            token_type=token_type,
            reason=reason,
            count=count,
        )

    def detokenize_event(self, restored: int, not_restored: int) -> dict[str, Any]:
        """The audit event of one request's detokenize outcome (counts only), for a
        caller that stores it itself (the proxy, with its batch's group commit)."""
        return self._event(
            "token-vault:detokenize",
            "detokenize",
            self.reveal_policy,
            count=restored,
            reason=f"{not_restored} tokens not restored" if not_restored else None,
        )

    def record_detokenize(self, restored: int, not_restored: int) -> None:
        """Audit one request's detokenize outcome (counts only)."""
        if self._audit is not None:
            self._audit(self.detokenize_event(restored, not_restored))
