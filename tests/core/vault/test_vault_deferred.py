"""``TokenVault.deferred_issues``: the tokenize calls of a block write their records
together when the block ends, and nothing when it fails; ``SqliteTokenStore.issue_many``
behaves as one ``issue`` per record, in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from haechi.errors import TokenVaultError
from haechi.isotime import to_iso
from haechi.vault.sqlite_store import SqliteTokenStore
from haechi.vault.store import TokenRecord
from haechi.vault.vault import TokenVault

CONTEXT = {"protocol": "openai-compatible", "operation": "request:POST chat",
           "direction": "request", "mode": "enforce"}


def _issue(vault: TokenVault, value: str) -> Any:
    return vault.tokenize(value, "email", path_text="$.messages[0].content", rule_id="email",
                          context=CONTEXT)


class CountingStore:
    """Passes every call on to a real store and counts the writes."""

    NAME = "counting"

    def __init__(self, store: SqliteTokenStore, *, fail: Exception | None = None) -> None:
        self.store = store
        self.fail = fail
        self.issue_calls = 0
        self.issue_many_sizes: list[int] = []

    def issue(self, record: TokenRecord, *, now: str) -> bool:
        self.issue_calls += 1
        return self.store.issue(record, now=now)

    def issue_many(self, records: Sequence[TokenRecord], *, now: str) -> list[bool]:
        self.issue_many_sizes.append(len(records))
        if self.fail is not None:
            raise self.fail
        return self.store.issue_many(records, now=now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class IssueOnlyStore(CountingStore):
    """A store without ``issue_many`` (the method is optional for a store)."""

    issue_many = None  # type: ignore[assignment]


@pytest.fixture
def store(vault_path) -> SqliteTokenStore:
    store = SqliteTokenStore(vault_path)
    yield store
    store.close()


def _vault(store: Any, crypto, clock, **options: Any) -> TokenVault:
    return TokenVault(store, crypto, clock=clock, **options)


def test_records_are_written_once_when_the_block_ends(store, crypto, clock) -> None:
    counting = CountingStore(store)
    vault = _vault(counting, crypto, clock)
    with vault.deferred_issues():
        issues = [_issue(vault, f"user{index}@example.com") for index in range(5)]
        assert all(issue.reused is None for issue in issues)
        assert all(store.get(issue.token) is None for issue in issues)  # not yet written
    assert counting.issue_many_sizes == [5] and counting.issue_calls == 0
    for index, issue in enumerate(issues):
        record = store.get(issue.token)
        assert crypto.decrypt(record.envelope, record.aad) == f"user{index}@example.com".encode()


def test_a_block_left_by_an_exception_writes_nothing(store, crypto, clock) -> None:
    counting = CountingStore(store)
    vault = _vault(counting, crypto, clock)
    with pytest.raises(RuntimeError), vault.deferred_issues():
        token = _issue(vault, "alice@example.com").token
        raise RuntimeError("the batch failed")
    assert counting.issue_many_sizes == [] and store.get(token) is None
    # The vault is not left deferring: the next call writes at once.
    assert _issue(vault, "bob@example.com").reused is False
    assert counting.issue_calls == 1


def test_a_failed_write_propagates_from_the_block(store, crypto, clock) -> None:
    counting = CountingStore(store, fail=TokenVaultError("Timed out acquiring token vault lock"))
    vault = _vault(counting, crypto, clock)
    with pytest.raises(TokenVaultError, match="Timed out"), vault.deferred_issues():
        token = _issue(vault, "alice@example.com").token
    assert store.get(token) is None


def test_nested_blocks_write_once_at_the_outer_end(store, crypto, clock) -> None:
    counting = CountingStore(store)
    vault = _vault(counting, crypto, clock)
    with vault.deferred_issues():
        first = _issue(vault, "alice@example.com").token
        with vault.deferred_issues():
            second = _issue(vault, "bob@example.com").token
        assert store.get(second) is None
    assert counting.issue_many_sizes == [2]
    assert store.get(first) is not None and store.get(second) is not None


def test_a_store_without_issue_many_gets_one_issue_per_record(store, crypto, clock) -> None:
    issue_only = IssueOnlyStore(store)
    vault = _vault(issue_only, crypto, clock)
    with vault.deferred_issues():
        tokens = [_issue(vault, f"user{index}@example.com").token for index in range(3)]
    assert issue_only.issue_calls == 3
    assert all(store.get(token) is not None for token in tokens)


def test_only_the_deferring_thread_defers(store, crypto, clock) -> None:
    vault = _vault(store, crypto, clock)
    other: list[Any] = []
    with vault.deferred_issues():
        thread = threading.Thread(target=lambda: other.append(_issue(vault, "bob@example.com")))
        thread.start()
        thread.join()
        # The other thread's record is written at once, this thread's waits for the end.
        assert other[0].reused is False and store.get(other[0].token) is not None
        mine = _issue(vault, "alice@example.com").token
        assert store.get(mine) is None
    assert store.get(mine) is not None


def test_a_deterministic_token_twice_in_one_block_is_one_record(store, crypto, clock) -> None:
    vault = _vault(store, crypto, clock, deterministic=True)
    with vault.deferred_issues():
        first = _issue(vault, "alice@example.com").token
        clock.advance(hours=1)
        second = _issue(vault, "alice@example.com").token
    assert first == second
    [record] = store.records()
    # The later issue refreshed the record, as two separate issues would have.
    assert record.expires_at == to_iso(clock.now + timedelta(days=30))


def test_issue_many_is_issue_per_record(store, crypto, clock) -> None:
    """Expired records go, a known token is refreshed (reused), a new one is stored."""
    vault = _vault(store, crypto, clock, deterministic=True)
    kept = _issue(vault, "kept@example.com").token
    stale = _issue(vault, "stale@example.com").token
    old = store.get(stale)
    store.delete(stale)
    store.issue(TokenRecord(token=old.token, type=old.type, created_at=old.created_at,
                            expires_at="2000-01-01T00:00:00.000Z", metadata=old.metadata,
                            envelope=old.envelope, aad=old.aad), now="1999-01-01T00:00:00.000Z")
    refreshed = store.get(kept)
    new = TokenRecord(token="tok_email_" + "a" * 32, type="email", created_at=to_iso(clock.now),
                      expires_at=to_iso(clock.now + timedelta(days=1)),
                      metadata={"path": "$", "ruleId": "email"}, envelope=refreshed.envelope,
                      aad=refreshed.aad)
    later = TokenRecord(token=kept, type="email", created_at="2099-01-01T00:00:00.000Z",
                        expires_at=to_iso(clock.now + timedelta(days=9)),
                        metadata={"path": "elsewhere", "ruleId": "other"},
                        envelope=refreshed.envelope, aad=refreshed.aad)
    assert store.issue_many([new, later, new], now=to_iso(clock.now)) == [False, True, True]
    assert store.get(stale) is None
    again = store.get(kept)
    assert again.expires_at == later.expires_at
    assert (again.created_at, dict(again.metadata)) == (refreshed.created_at,
                                                        dict(refreshed.metadata))
    assert {record.token for record in store.records()} == {kept, new.token}
