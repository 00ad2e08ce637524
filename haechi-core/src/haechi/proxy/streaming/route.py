"""What a stream filter needs to know about a route (the proxy's route carries the same
attribute names, so either can be passed to :func:`~haechi.proxy.streaming.stream_filter_for`)."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["DeltaPath", "StreamFormat", "StreamRoute"]

StreamFormat = Literal["sse", "ndjson"]
DeltaPath = tuple[str | int, ...]


@attrs.frozen
class StreamRoute:
    """:param stream_format: ``"sse"`` (frames end at a blank line) or ``"ndjson"``.
    :param delta_path: where a frame carries the streamed text of choice 0, e.g.
        ``("choices", 0, "delta", "content")``; None protects each frame on its own.
    :param flush_types: frame ``type`` values that end a text block (Anthropic's
        ``content_block_stop``, ``message_delta``, ``message_stop``): the held tail is
        emitted before such a frame.
    """

    stream_format: StreamFormat
    delta_path: DeltaPath | None = None
    flush_types: frozenset[str] = frozenset()
