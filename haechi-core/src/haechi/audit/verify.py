"""Verify an audit chain (and optionally its anchor file), streaming, in constant memory.

The result has the reference's shapes (spec section 7)::

    {"valid": True, "records": N, "headHash": H}            # + "anchored": {count, lastSequence}
    {"valid": False, "records": N, "reason": R}

``records`` counts the records verified before the first problem. Besides the
reference's reasons this reports, in the same style, a line that is not JSON
(``unparseable JSON at line L``), a file that ends without a newline (``incomplete line
L``: a writer was interrupted), and anchor-file problems (``unparseable anchor line L``,
``anchor out of order at sequence N``). Anchor lines are written in sequence order under
the log's lock, so the two files are walked side by side.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from haechi.audit.integrity import event_hash
from haechi.errors import HaechiError

__all__ = ["verify_audit_chain"]


class _Invalid(Exception):
    """Internal: the chain is invalid for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_audit_chain(
    path: str | os.PathLike[str], *, anchor_path: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Verify the chain at ``path``. Raises :class:`HaechiError` when it does not exist;
    a missing anchor file counts as one with no anchors."""
    path = os.fspath(path)
    walk = _ChainWalk(_anchors(os.fspath(anchor_path)) if anchor_path is not None else None)
    try:
        with open(path, "rb") as log:
            walk.start()
            for line_number, line in enumerate(log, 1):
                walk.check(line, line_number)
        walk.finish()
    except FileNotFoundError:
        raise HaechiError(f"Audit log not found: {path}") from None
    except _Invalid as invalid:
        return {"valid": False, "records": walk.records, "reason": invalid.reason}
    result: dict[str, Any] = {"valid": True, "records": walk.records, "headHash": walk.head}
    if walk.anchors is not None:
        result["anchored"] = {"count": walk.anchored, "lastSequence": walk.last_anchored}
    return result


class _ChainWalk:
    def __init__(self, anchors: Iterator[tuple[int, str]] | None) -> None:
        self.records = 0
        self.head: str | None = None
        self.anchors = anchors
        self.anchored = 0
        self.last_anchored: int | None = None
        self._pending: tuple[int, str] | None = None

    def start(self) -> None:
        """Read the first anchor (may raise :class:`_Invalid`)."""
        if self.anchors is not None:
            self._pending = next(self.anchors, None)

    def check(self, line: bytes, line_number: int) -> None:
        if not line.endswith(b"\n"):
            raise _Invalid(f"incomplete line {line_number}")
        try:
            record = json.loads(line)
        except ValueError:
            raise _Invalid(f"unparseable JSON at line {line_number}") from None
        integrity = record.get("auditIntegrity") if isinstance(record, dict) else None
        if not isinstance(integrity, dict):
            raise _Invalid("missing auditIntegrity")
        sequence = integrity.get("sequence")
        if isinstance(sequence, bool) or sequence != self.records + 1:
            raise _Invalid("sequence mismatch")
        if integrity.get("previousHash") != self.head:
            raise _Invalid("previous hash mismatch")
        stored_hash = integrity.get("eventHash")
        if stored_hash != event_hash(record):
            raise _Invalid("event hash mismatch")
        self._check_anchor(self.records + 1, stored_hash)
        self.records += 1
        self.head = stored_hash

    def _check_anchor(self, sequence: int, stored_hash: str) -> None:
        while self._pending is not None and self._pending[0] <= sequence:
            anchored_sequence, anchored_hash = self._pending
            if anchored_sequence < sequence:
                raise _Invalid(f"anchor out of order at sequence {anchored_sequence}")
            if anchored_hash != stored_hash:
                raise _Invalid(f"anchor hash mismatch at sequence {sequence}")
            self.anchored += 1
            self.last_anchored = sequence
            self._pending = next(self.anchors, None)  # type: ignore[arg-type]

    def finish(self) -> None:
        if self._pending is None or self.anchors is None:
            return
        attested = max([self._pending[0], *(sequence for sequence, _ in self.anchors)])
        raise _Invalid(
            f"tail truncation: chain has {self.records} records but anchor attests "
            f"sequence {attested}"
        )


def _anchors(anchor_path: str) -> Iterator[tuple[int, str]]:
    """``(sequence, eventHash)`` per anchor line; nothing when the file does not exist."""
    try:
        anchor_file = open(anchor_path, "rb")  # noqa: SIM115 - closed when the generator ends
    except FileNotFoundError:
        return
    with anchor_file:
        for line_number, line in enumerate(anchor_file, 1):
            try:
                anchor = json.loads(line)
                sequence, anchored_hash = anchor["sequence"], anchor["eventHash"]
            except (ValueError, TypeError, KeyError):
                raise _Invalid(f"unparseable anchor line {line_number}") from None
            if (
                isinstance(sequence, bool)
                or not isinstance(sequence, int)
                or not isinstance(anchored_hash, str)
            ):
                raise _Invalid(f"unparseable anchor line {line_number}")
            yield sequence, anchored_hash
