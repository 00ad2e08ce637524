from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from haechi.crypto.local import LocalCryptoProvider
from haechi.vault.sqlite_store import SqliteTokenStore
from haechi.vault.vault import TokenVault

CONTEXT = {"protocol": "cli", "operation": "cli protect", "direction": "request", "mode": "enforce"}
PER_WORKER = 25


def _worker(args: tuple[str, str, int, bool]) -> list[str]:
    key_path, vault_path, worker, deterministic = args
    store = SqliteTokenStore(vault_path)
    vault = TokenVault(
        store, LocalCryptoProvider(key_path), deterministic=deterministic, reveal_policy="local-dev"
    )
    tokens = []
    for i in range(PER_WORKER):
        value = "shared@example.com" if deterministic else f"w{worker}-{i}@example.com"
        tokens.append(
            vault.tokenize(value, "email", path_text="p", rule_id="email", context=CONTEXT).token
        )
    store.close()
    return tokens


def test_many_processes_share_one_vault(key_path: Path, vault_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        random_batches = pool.map(
            _worker, [(str(key_path), str(vault_path), w, False) for w in range(4)]
        )
        deterministic_batches = pool.map(
            _worker, [(str(key_path), str(vault_path), w, True) for w in range(4)]
        )
    all_random = [t for batch in random_batches for t in batch]
    assert len(set(all_random)) == 4 * PER_WORKER
    assert len({t for batch in deterministic_batches for t in batch}) == 1
    with sqlite3.connect(vault_path) as db:
        assert db.execute("SELECT count(*) FROM tokens").fetchone()[0] == 4 * PER_WORKER + 1
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = SqliteTokenStore(vault_path)
    vault = TokenVault(store, LocalCryptoProvider(key_path), reveal_policy="local-dev")
    assert vault.reveal(all_random[-1]) == ("email", "w3-24@example.com")
    assert vault.reveal(deterministic_batches[0][0]) == ("email", "shared@example.com")
    store.close()
