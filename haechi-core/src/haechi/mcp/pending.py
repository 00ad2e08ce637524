"""Client requests waiting for the server's response, by JSON-RPC id.

The wrapper needs to know, when a response comes back, which method it answers (a
``tools/list`` result is checked against the tool pins) and which token scope the request
used (its tokens, and only its tokens, are restored in the result). The table is bounded:
a client that never gets answers cannot make it grow without limit; the oldest entry is
forgotten first (its result is then still protected, only not detokenized or pinned).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import attrs

from haechi.jsoncodec import dumps_compact

__all__ = ["MAX_PENDING_REQUESTS", "PendingRequest", "PendingRequests"]

MAX_PENDING_REQUESTS = 4096


@attrs.frozen
class PendingRequest:
    method: str
    #: The request's :class:`haechi.vault.scope.TokenScope`, when detokenization is on.
    scope: Any = None


class PendingRequests:
    def __init__(self, limit: int = MAX_PENDING_REQUESTS) -> None:
        self._limit = limit
        self._by_id: OrderedDict[bytes, PendingRequest] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, message_id: Any, request: PendingRequest) -> None:
        key = _id_key(message_id)
        self._by_id.pop(key, None)
        self._by_id[key] = request
        while len(self._by_id) > self._limit:
            self._by_id.popitem(last=False)

    def pop(self, message_id: Any) -> PendingRequest | None:
        return self._by_id.pop(_id_key(message_id), None)


def _id_key(message_id: Any) -> bytes:
    """The id's JSON text, so that ``1`` and ``"1"`` stay distinct ids."""
    return dumps_compact(message_id)
