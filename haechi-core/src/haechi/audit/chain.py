"""The built-in audit sink: a hash-chained JSONL file (``audit.sink: "jsonl"``).

Each :meth:`AuditChain.record` call sanitizes the event, seals it onto the chain, appends
one line and writes the anchor, all under one inter-process lock, then hands the stored
record to the ``haechi_audit_event`` observers. :meth:`AuditChain.record_many` does the
same for several events with one lock and one write (a group commit: the proxy collects
the events of the requests it handles in one event-loop pass).

Appends are O(1). The head (last sequence and hash) is kept in memory together with the
identity and size of the file it was read from; only when the file changed under us
(another process appended, or the file was replaced) is the head read again, from the
end of the file (:mod:`haechi.audit.head`).

Failure rules (decision 0006): a log whose last line is torn or unsealed makes every
append fail until an operator repairs it (evidence is never truncated); a write that
fails half-way is rolled back to the size the file had before it, which removes only
our own incomplete bytes, since we still hold the lock.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from haechi.audit.anchor import Anchor, anchor_for
from haechi.audit.head import ChainHead, read_chain_head
from haechi.audit.integrity import encode_line, seal
from haechi.audit.lock import InterprocessLock
from haechi.audit.sanitize import sanitize_for_seal
from haechi.errors import HaechiError
from haechi.hookspecs import hookimpl

__all__ = ["AuditChain", "haechi_register_audit_sinks"]

_log = logging.getLogger(__name__)


class AuditChain:
    """Append-only, hash-chained JSONL audit log at ``path``.

    :param anchor: where chain heads are attested (``None``: no anchoring).
    :param fsync: ``fsync`` the log (and a file anchor's own setting) after each append.
    :param plugin_manager: when given, ``haechi_audit_event`` is called after each append.
    :param lock_timeout: seconds to wait for ``<path>.lock`` before
        :class:`haechi.errors.AuditLockTimeout`.
    """

    NAME = "jsonl"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        anchor: Anchor | None = None,
        fsync: bool = False,
        plugin_manager: pluggy.PluginManager | None = None,
        lock_timeout: float = 5.0,
    ) -> None:
        self.path = os.fspath(path)
        self.anchor = anchor
        self.fsync = fsync
        self._pm = plugin_manager
        self._lock = InterprocessLock(self.path + ".lock", timeout=lock_timeout)
        self._fd: int | None = None
        self._fd_pid = 0
        self._fd_identity: tuple[int, int] | None = None  # (device, inode) of self._fd
        # (device, inode, size) of the log as we last left it, and the head it ends with.
        self._known_file: tuple[int, int, int] | None = None
        self._head: ChainHead | None = None

    @classmethod
    def from_config(cls, config: Any, *, pm: pluggy.PluginManager | None = None) -> AuditChain:
        """The chain at ``audit.path`` with the ``audit.anchor`` of a loaded config."""
        anchor = config.audit.anchor
        return cls(
            config.audit.path,
            anchor=anchor_for(anchor.mode, anchor.path, anchor.every_records),
            plugin_manager=pm,
        )

    def record(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Sanitize, seal and append ``event``; return the stored record."""
        outcome = self.record_many((event,))[0]
        if isinstance(outcome, HaechiError):
            raise outcome
        return outcome

    def record_many(
        self, events: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any] | HaechiError]:
        """:meth:`record` for several events at once, in order: one lock, one head check
        and one write for all of them. Returns, per event, its stored record or the
        :class:`HaechiError` that refused it (an event that is not plain JSON); the others
        are stored all the same. A failed write raises for the whole batch, none of
        which is then stored (a partial write is rolled back)."""
        outcomes: list[Any] = [None] * len(events)
        accepted: list[int] = []
        sanitized: list[tuple[dict[str, Any], bool]] = []
        for index, event in enumerate(events):
            try:
                sanitized.append(sanitize_for_seal(event))
            except HaechiError as exc:
                outcomes[index] = exc
            else:
                accepted.append(index)
        if not sanitized:
            return outcomes
        if self._fd is None or self._fd_pid != os.getpid():
            self._make_parent()  # for the lock file; a reopened log makes its parent too
        with self._lock:
            try:
                stored = self._append(sanitized)
            except OSError as exc:
                raise HaechiError(
                    f"Could not append to audit log {self.path}: {exc.strerror or exc}"
                ) from None
            if self.anchor is not None:
                for record in stored:
                    integrity = record["auditIntegrity"]
                    self.anchor.attest(integrity["sequence"], integrity["eventHash"])
        for index, record in zip(accepted, stored, strict=True):
            outcomes[index] = record
            self._notify(record)
        return outcomes

    def ready(self) -> tuple[bool, str | None]:
        """Whether an append could succeed now: ``(False, "audit_dir_not_writable")`` or
        ``(False, "audit_file_not_writable")`` when it could not. Creates nothing."""
        directory = os.path.dirname(os.path.abspath(self.path))
        existing = directory
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
            return False, "audit_dir_not_writable"
        if os.path.lexists(self.path) and (
            not os.path.isfile(self.path) or not os.access(self.path, os.W_OK)
        ):
            return False, "audit_file_not_writable"
        return True, None

    def close(self) -> None:
        """Close the open descriptors (a later :meth:`record` reopens them)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
            self._known_file = None
        self._lock.close()

    # -- internals ---------------------------------------------------------------------

    def _make_parent(self) -> None:
        parent = os.path.dirname(self.path)
        if parent and not os.path.isdir(parent):
            try:
                os.makedirs(parent, mode=0o700, exist_ok=True)
            except OSError as exc:
                raise HaechiError(
                    f"Could not create the audit directory {parent}: {exc.strerror or exc}"
                ) from None

    def _append(self, sanitized: Sequence[tuple[dict[str, Any], bool]]) -> list[dict[str, Any]]:
        """Seal each ``(event, checked_exact)`` onto the chain and write them as one append."""
        fd, stat = self._descriptor()
        identity = (stat.st_dev, stat.st_ino, stat.st_size)
        if identity != self._known_file or self._head is None:
            self._head = read_chain_head(fd, stat.st_size, self.path)
        sequence, previous = self._head.sequence, self._head.event_hash
        stored = []
        for event, checked_exact in sanitized:
            sequence += 1
            record = seal(event, sequence, previous, checked_exact=checked_exact)
            previous = record["auditIntegrity"]["eventHash"]
            stored.append(record)
        data = b"".join(map(encode_line, stored))
        self._write_all(fd, data, stat.st_size)
        if self.fsync:
            os.fsync(fd)
        self._head = ChainHead(sequence=sequence, event_hash=previous)
        self._known_file = (stat.st_dev, stat.st_ino, stat.st_size + len(data))
        return stored

    def _descriptor(self) -> tuple[int, os.stat_result]:
        """The open log and its ``fstat``, reopened when the path now names another file
        (rotated or deleted) or when we are a forked child (the parent's descriptor is
        not ours)."""
        if self._fd is not None:
            if self._fd_pid == os.getpid():
                current = self._open_file_stat(self._fd)
                if current is not None:
                    return self._fd, current
            os.close(self._fd)  # in a forked child this closes only the child's copy
            self._fd = None
        self._make_parent()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._fd_pid = os.getpid()
        self._known_file = None
        opened = os.fstat(self._fd)
        self._fd_identity = (opened.st_dev, opened.st_ino)
        return self._fd, opened

    def _open_file_stat(self, fd: int) -> os.stat_result | None:
        """The file's stat when ``fd`` is still the file at our path, else None. One
        ``stat`` of the path answers both: the same device and inode is the same file, so
        its size is the size of the file behind ``fd``."""
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return None
        if (on_disk.st_dev, on_disk.st_ino) != self._fd_identity:
            return None
        return on_disk

    def _write_all(self, fd: int, data: bytes, size_before: int) -> None:
        written = 0
        try:
            while written < len(data):
                count = os.write(fd, data[written:])
                if count == 0:
                    raise OSError("the write made no progress")
                written += count
        except OSError:
            if written:
                # Only our own partial lines lie past size_before: we hold the lock.
                os.ftruncate(fd, size_before)
            raise

    def _notify(self, stored: dict[str, Any]) -> None:
        """Call each ``haechi_audit_event`` observer on its own copy of the record.

        Observers are called one by one (not through one pluggy call, which stops at the
        first exception) so that a failing observer neither undoes the stored record nor
        silences the others. Wrapper implementations are not observers and are skipped.
        """
        if self._pm is None:
            return
        for impl in self._pm.hook.haechi_audit_event.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            arguments = {name: copy.deepcopy(stored) for name in impl.argnames}
            try:
                impl.function(**arguments)
            except Exception as exc:  # an observer must never undo a stored record
                _log.warning(
                    "The haechi_audit_event hook of plugin %s raised %s; the audit record "
                    "is stored.",
                    impl.plugin_name,
                    type(exc).__name__,
                )


@hookimpl
def haechi_register_audit_sinks(register: Any) -> None:
    register(AuditChain)
