from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from haechi.errors import TokenVaultError
from haechi.isotime import parse_iso, to_iso
from haechi.vault.sqlite_store import SqliteTokenStore
from haechi.vault.store import TokenStore
from haechi.vault.vault import TokenVault

CONTEXT = {
    "protocol": "openai-compatible",
    "operation": "request:POST chat",
    "direction": "request",
    "mode": "enforce",
}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _issue(vault: TokenVault, value: str = "alice@example.com", **context: str):
    return vault.tokenize(
        value,
        "email",
        path_text="key_1a2b3c4d5e6f[0]",
        rule_id="email",
        context={**CONTEXT, **context},
    )


def test_store_satisfies_the_seam(vault: TokenVault) -> None:
    assert isinstance(vault.store, TokenStore)
    assert SqliteTokenStore.NAME == "local"


def test_record_holds_envelope_aad_and_metadata(vault: TokenVault, clock) -> None:
    issue = _issue(vault)
    assert issue.reused is False
    record = vault.store.get(issue.token)
    assert record.type == "email"
    assert dict(record.metadata) == {"path": "key_1a2b3c4d5e6f[0]", "ruleId": "email"}
    assert dict(record.aad) == {
        "purpose": "token-vault",
        "token": issue.token,
        "type": "email",
        "context": CONTEXT,
    }
    assert record.envelope["expiresAt"] == record.expires_at
    assert parse_iso(record.expires_at) - parse_iso(record.created_at) == timedelta(days=30)
    assert ISO_MS.fullmatch(record.created_at)
    assert vault.crypto.decrypt(record.envelope, record.aad) == b"alice@example.com"


def test_reuse_refreshes_expiry_and_reseals(make_vault, clock) -> None:
    vault = make_vault(deterministic=True, retention_days=2, reveal_policy="local-dev")
    first = _issue(vault)
    created = vault.store.get(first.token)
    clock.advance(days=1)
    again = _issue(vault, operation="request:POST other")
    assert (again.token, again.reused) == (first.token, True)
    refreshed = vault.store.get(first.token)
    assert refreshed.created_at == created.created_at
    assert refreshed.expires_at == to_iso(clock.now + timedelta(days=2))
    assert refreshed.envelope["expiresAt"] == refreshed.expires_at
    clock.advance(days=1, hours=12)  # past the first envelope's expiry, within the refreshed one
    assert vault.reveal(first.token) == ("email", "alice@example.com")


def test_expired_records_are_pruned_on_tokenize(vault: TokenVault, clock) -> None:
    old = _issue(vault).token
    clock.advance(days=31)
    _issue(vault, "bob@example.com")
    assert vault.store.get(old) is None


def test_purge_and_purge_expired(vault: TokenVault, clock, events: list[dict]) -> None:
    keep, gone = _issue(vault).token, _issue(vault, "bob@example.com").token
    result = vault.purge(gone)
    assert (
        result["purged"] is True
        and result["token"] == gone
        and ISO_MS.fullmatch(result["purgedAt"])
    )
    assert vault.purge(gone)["purged"] is False
    assert vault.store.get(gone) is None and vault.store.get(keep) is not None
    clock.advance(days=31)
    assert vault.purge_expired() == 1
    assert vault.purge_expired() == 0
    purge, _again, expired, expired_none = events
    assert (purge["operation"], purge["decision"], purge["token"]) == (
        "token-vault:purge",
        "purge",
        gone,
    )
    assert (expired["operation"], expired["decision"], expired["count"]) == (
        "token-vault:purge-expired",
        "purge_expired",
        1,
    )
    assert expired_none["count"] == 0


def test_export_never_holds_plaintext_or_envelopes(vault: TokenVault) -> None:
    token = _issue(vault).token
    _issue(vault, "010-1234-5678")
    exported = vault.export()
    assert len(exported) == 2
    assert set(exported[0]) == {"token", "type", "createdAt", "expiresAt", "metadata"}
    assert [row["token"] for row in vault.export("email")] == [row["token"] for row in exported]
    assert vault.export("phone") == []
    assert "alice@example.com" not in repr(exported) and "ct" not in repr(exported[0]["metadata"])
    assert token in {row["token"] for row in exported}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retention_days": 0}, "retentionDays"),
        ({"retention_days": True}, "retentionDays"),
        ({"reveal_policy": "always"}, "revealPolicy"),
    ],
)
def test_invalid_options(make_vault, options: dict, message: str) -> None:
    with pytest.raises(TokenVaultError, match=message):
        make_vault(**options)


def test_deterministic_requires_hmac(make_vault, crypto) -> None:
    class EncryptOnly:
        encrypt = crypto.encrypt
        decrypt = crypto.decrypt

    with pytest.raises(TokenVaultError, match=r"requires a crypto provider with hmac\(\)"):
        make_vault(deterministic=True, crypto=EncryptOnly())


def test_vault_file_mode_and_wal(vault: TokenVault, vault_path: Path) -> None:
    _issue(vault)
    assert oct(vault_path.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(vault_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_lock_timeout_is_a_vault_error(vault: TokenVault, vault_path: Path, crypto, clock) -> None:
    store = SqliteTokenStore(vault_path, lock_timeout_ms=50)
    holder = sqlite3.connect(vault_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(
            TokenVaultError, match=r"^Timed out acquiring token vault lock: .*token-vault.db$"
        ):
            _issue(TokenVault(store, crypto, clock=clock))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _issue(TokenVault(store, crypto, clock=clock))  # the lock is gone: works again
    store.close()
