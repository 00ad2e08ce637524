"""Reading a body with a hard byte cap: never more than ``limit`` bytes are buffered."""

from __future__ import annotations

from aiohttp import StreamReader

__all__ = ["BodyTooLarge", "read_capped"]

_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The body (declared or received) exceeds the cap; nothing beyond it was kept."""


async def read_capped(stream: StreamReader, limit: int, declared_length: int | None) -> bytes:
    """The whole body, or :class:`BodyTooLarge` as soon as it is known to exceed ``limit``:
    at once from a declared ``Content-Length``, otherwise when the running total passes it."""
    if declared_length is not None and declared_length > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge
        chunks.append(chunk)
