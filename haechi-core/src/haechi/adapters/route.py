"""What a protocol adapter says about one request path."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["UNKNOWN_ROUTE", "Route", "StreamFormat"]

StreamFormat = Literal["sse", "ndjson"]


@attrs.frozen
class Route:
    """One classified route.

    :ivar route_id: the route's name in audit events and metric labels
        (``chat-completions``, ``messages``, ...; ``unknown`` for an unlisted path).
    :ivar streams_by_default: the route streams unless the body says ``"stream": false``
        (Ollama chat/generate, Gemini ``streamGenerateContent``).
    :ivar stream_format: how a streamed response is framed; None means the route cannot be
        stream-inspected.
    :ivar delta_path: where the incremental text sits inside one JSON frame; None means
        the frame is protected on its own, with no cross-frame buffer.
    :ivar flush_types: frame ``type`` values on which the held stream tail is flushed.
    :ivar protect_response: whether a JSON response of this route is protected.
    """

    route_id: str
    streams_by_default: bool = False
    stream_format: StreamFormat | None = None
    delta_path: tuple[str | int, ...] | None = None
    flush_types: frozenset[str] = frozenset()
    protect_response: bool = True


#: A path no adapter lists: still protected and forwarded, never stream-inspected.
UNKNOWN_ROUTE = Route("unknown")
