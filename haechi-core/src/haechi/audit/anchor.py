"""Anchors: copies of the chain head written somewhere the log's writer cannot rewrite.

A hash chain shows edits and deletions in the middle, but a truncated tail still forms a
valid (shorter) chain. Every ``every_records`` records the anchor writes the line
``{"sequence":N,"eventHash":H,"timestamp":T}``; ``verify_audit_chain`` then compares the
chain with every anchored head and reports a chain shorter than the last anchor as tail
truncation. An anchor file only helps if it lives on other media than the log.

:class:`AuditChain` calls :meth:`Anchor.attest` while it still holds the log's lock, so
anchor lines are written in sequence order.
"""

from __future__ import annotations

import json
import os
import sys
from abc import ABC, abstractmethod
from typing import ClassVar, TextIO

from haechi.audit.events import iso_timestamp
from haechi.errors import ConfigError, HaechiError

__all__ = ["Anchor", "FileAnchor", "StdoutAnchor", "anchor_for"]


class Anchor(ABC):
    """Base class: decides *when* to attest; subclasses decide *where* the line goes."""

    NAME: ClassVar[str]

    def __init__(self, *, every_records: int = 1) -> None:
        if (
            isinstance(every_records, bool)
            or not isinstance(every_records, int)
            or every_records < 1
        ):
            raise ConfigError(["$.audit.anchor.everyRecords must be a positive integer"])
        self.every_records = every_records

    def attest(self, sequence: int, event_hash: str) -> bool:
        """Write the anchor line for ``sequence`` if it is due; return whether it was."""
        if sequence % self.every_records:
            return False
        line = json.dumps(
            {"sequence": sequence, "eventHash": event_hash, "timestamp": iso_timestamp()},
            separators=(",", ":"),
        )
        self._write_line(line + "\n")
        return True

    @abstractmethod
    def _write_line(self, line: str) -> None:
        """Write one anchor line (ending in a newline) or raise :class:`HaechiError`."""


class FileAnchor(Anchor):
    """Appends anchor lines to ``path`` (created with mode 0600, parent directory too)."""

    NAME = "file"

    def __init__(
        self, path: str | os.PathLike[str], *, every_records: int = 1, fsync: bool = False
    ) -> None:
        super().__init__(every_records=every_records)
        self.path = os.fspath(path)
        self.fsync = fsync

    def _write_line(self, line: str) -> None:
        data = line.encode("ascii")
        try:
            parent = os.path.dirname(self.path)
            if parent:
                os.makedirs(parent, mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError("short write")
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise HaechiError(
                f"Could not write the audit anchor {self.path}: {exc.strerror or exc}"
            ) from None


class StdoutAnchor(Anchor):
    """Writes anchor lines to the process's standard output (or ``stream``)."""

    NAME = "stdout"

    def __init__(self, *, every_records: int = 1, stream: TextIO | None = None) -> None:
        super().__init__(every_records=every_records)
        self._stream = stream

    def _write_line(self, line: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(line)
        stream.flush()


def anchor_for(
    mode: str, path: str | None, every_records: int = 1, *, fsync: bool = False
) -> Anchor | None:
    """The anchor configured by ``audit.anchor`` (``mode`` ``none`` gives ``None``)."""
    if mode == "none":
        return None
    if mode == StdoutAnchor.NAME:
        return StdoutAnchor(every_records=every_records)
    if mode == FileAnchor.NAME:
        if not path:
            raise ConfigError(["$.audit.anchor.path is required when audit.anchor.mode is file"])
        return FileAnchor(path, every_records=every_records, fsync=fsync)
    raise ConfigError([f"$.audit.anchor.mode must be one of none, file, stdout (got {mode!r})"])
