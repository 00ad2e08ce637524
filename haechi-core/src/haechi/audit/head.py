"""Read the head of a chain (the last record's sequence and hash) from the end of the
file, without reading the rest: 64 KiB from the end, doubling until a whole line fits."""

from __future__ import annotations

import json
import os

import attrs

from haechi.errors import HaechiError

__all__ = ["EMPTY_HEAD", "ChainHead", "read_chain_head"]

_FIRST_CHUNK = 64 * 1024


@attrs.frozen
class ChainHead:
    """The last record of a chain: ``sequence`` 0 and ``event_hash`` None when empty."""

    sequence: int
    event_hash: str | None


EMPTY_HEAD = ChainHead(sequence=0, event_hash=None)


def read_chain_head(fd: int, size: int, path: str) -> ChainHead:
    """The head of the chain in the open file ``fd`` of ``size`` bytes.

    Fails closed with :class:`HaechiError` when the file does not end with a newline (a
    writer was interrupted mid-line) or its last line is not a sealed record: appending
    after either would hide the damage, and truncating would destroy evidence, so an
    operator has to look (``haechi audit-verify``) and repair the file.
    """
    if size == 0:
        return EMPTY_HEAD
    line = _last_line(fd, size, path)
    try:
        record = json.loads(line)
        integrity = record["auditIntegrity"]
        sequence, event_hash = integrity["sequence"], integrity["eventHash"]
    except (ValueError, TypeError, KeyError):
        raise HaechiError(
            f"The last line of audit log {path} is not a sealed audit record; run "
            "'haechi audit-verify' and repair the log before appending."
        ) from None
    if (
        isinstance(sequence, bool)
        or not isinstance(sequence, int)
        or sequence < 1
        or not isinstance(event_hash, str)
    ):
        raise HaechiError(
            f"The last record of audit log {path} has an invalid auditIntegrity; run "
            "'haechi audit-verify' and repair the log before appending."
        )
    return ChainHead(sequence=sequence, event_hash=event_hash)


def _last_line(fd: int, size: int, path: str) -> bytes:
    if os.pread(fd, 1, size - 1) != b"\n":
        raise HaechiError(
            f"Audit log {path} ends with an incomplete line (a writer was interrupted); "
            "run 'haechi audit-verify' and repair the log before appending."
        )
    chunk = _FIRST_CHUNK
    while True:
        start = max(0, size - 1 - chunk)
        data = os.pread(fd, size - 1 - start, start)
        newline = data.rfind(b"\n")
        if newline >= 0:
            return data[newline + 1 :]
        if start == 0:
            return data
        chunk *= 2
