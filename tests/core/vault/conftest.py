from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from haechi.crypto.keyfile import create_key_file
from haechi.crypto.local import LocalCryptoProvider
from haechi.vault.sqlite_store import SqliteTokenStore
from haechi.vault.vault import TokenVault


class Clock:
    """A settable clock shared by the vault and the crypto provider."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "dev.keys.json"
    create_key_file(path)
    return path


@pytest.fixture
def crypto(key_path: Path, clock: Clock) -> LocalCryptoProvider:
    return LocalCryptoProvider(key_path, clock=clock)


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault" / "token-vault.db"


@pytest.fixture
def events() -> list[dict]:
    return []


@pytest.fixture
def make_vault(vault_path: Path, crypto: LocalCryptoProvider, events: list[dict], clock: Clock):
    stores: list[SqliteTokenStore] = []

    def build(**options) -> TokenVault:
        store = SqliteTokenStore(vault_path)
        stores.append(store)
        return TokenVault(
            store, options.pop("crypto", crypto), audit=events.append, clock=clock, **options
        )

    yield build
    for store in stores:
        store.close()


@pytest.fixture
def vault(make_vault: Callable[..., TokenVault]) -> TokenVault:
    return make_vault()
