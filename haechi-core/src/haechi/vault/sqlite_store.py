"""The default token store: one SQLite file (WAL mode) that several processes can share.

Each mutation runs in a ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write
lock up front, so concurrent tokenizers in different processes serialize instead of
racing; a ``busy_timeout`` makes a waiting writer retry for up to
:data:`LOCK_TIMEOUT_MS` before giving up. The file (and the ``-wal``/``-shm`` files
SQLite derives from it) is created with mode 0600, and ``secure_delete`` overwrites
purged records. Commits are not fsynced (``synchronous = NORMAL``, decision 0013).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from haechi.errors import TokenVaultError
from haechi.hookspecs import hookimpl
from haechi.vault.store import TokenRecord

__all__ = ["LOCK_TIMEOUT_MS", "SqliteTokenStore", "haechi_register_token_stores"]

LOCK_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token      TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    envelope   TEXT NOT NULL,
    aad        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_expiry ON tokens (expires_at);
"""
_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tokens'"
_SELECT_ONE = (
    "SELECT token, type, created_at, expires_at, metadata, envelope, aad FROM tokens"
    " WHERE token = ?"
)
_SELECT_ALL = (
    "SELECT token, type, created_at, expires_at, metadata, envelope, aad FROM tokens"
    " ORDER BY created_at, token"
)
_SELECT_TYPE = (
    "SELECT token, type, created_at, expires_at, metadata, envelope, aad FROM tokens"
    " WHERE type = ? ORDER BY created_at, token"
)
_INSERT = (
    "INSERT INTO tokens (token, type, created_at, expires_at, metadata, envelope, aad)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _record(row: tuple[str, ...]) -> TokenRecord:
    token, type_, created_at, expires_at, metadata, envelope, aad = row
    return TokenRecord(
        token=token,
        type=type_,
        created_at=created_at,
        expires_at=expires_at,
        metadata=json.loads(metadata),
        envelope=json.loads(envelope),
        aad=json.loads(aad),
    )


class SqliteTokenStore:
    """Token records in the SQLite database at ``path`` (created on first use).
    ``lock_timeout_ms`` bounds how long a writer waits for another one."""

    NAME: ClassVar[str] = "local"

    @classmethod
    def from_config(cls, config: Any) -> SqliteTokenStore:
        """The store at ``tokenVault.path`` of a loaded configuration."""
        return cls(config.token_vault.path)

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout_ms: int = LOCK_TIMEOUT_MS):
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {int(lock_timeout_ms)}")
        self._db.execute("PRAGMA secure_delete = ON")
        self._run(lambda db: db.execute("PRAGMA journal_mode = WAL"))
        # WAL + NORMAL: a commit is not fsynced (checkpoints are). A killed process loses
        # nothing and the file never corrupts; only a power cut or OS crash can lose the
        # last commits (decision 0013).
        self._db.execute("PRAGMA synchronous = NORMAL")
        if not self._run(lambda db: db.execute(_HAS_TABLE).fetchone()):
            with self._transaction() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)

    @property
    def path(self) -> Path:
        return self._path

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                raise TokenVaultError(
                    f"Timed out acquiring token vault lock: {self._path}"
                ) from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _run(self, query: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            try:
                return query(self._db)
            except sqlite3.OperationalError:
                raise TokenVaultError(
                    f"Timed out acquiring token vault lock: {self._path}"
                ) from None

    def issue(self, record: TokenRecord, *, now: str) -> bool:
        return self.issue_many([record], now=now)[0]

    def issue_many(self, records: Sequence[TokenRecord], *, now: str) -> list[bool]:
        """:meth:`issue` for each of ``records`` in turn, all in one transaction (one
        write lock and one commit instead of one per record)."""
        reused: list[bool] = []
        with self._transaction() as db:
            db.execute("DELETE FROM tokens WHERE expires_at < ?", (now,))
            for record in records:
                envelope, aad = _dump(record.envelope), _dump(record.aad)
                updated = db.execute(
                    "UPDATE tokens SET expires_at = ?, envelope = ?, aad = ? WHERE token = ?",
                    (record.expires_at, envelope, aad, record.token),
                ).rowcount
                if not updated:
                    db.execute(
                        _INSERT,
                        (record.token, record.type, record.created_at, record.expires_at,
                         _dump(record.metadata), envelope, aad),
                    )
                reused.append(bool(updated))
        return reused

    def get(self, token: str) -> TokenRecord | None:
        row = self._run(lambda db: db.execute(_SELECT_ONE, (token,)).fetchone())
        return _record(row) if row else None

    def delete(self, token: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM tokens WHERE token = ?", (token,)).rowcount > 0

    def delete_expired(self, now: str) -> int:
        with self._transaction() as db:
            return db.execute("DELETE FROM tokens WHERE expires_at < ?", (now,)).rowcount

    def records(self, type_: str | None = None) -> list[TokenRecord]:
        if type_ is None:
            sql, params = _SELECT_ALL, ()
        else:
            sql, params = (
                _SELECT_TYPE,
                (type_,),
            )
        return [_record(row) for row in self._run(lambda db: db.execute(sql, params).fetchall())]

    def close(self) -> None:
        with self._lock:
            self._db.close()


@hookimpl
def haechi_register_token_stores(register: Callable[[type], None]) -> None:
    register(SqliteTokenStore)
