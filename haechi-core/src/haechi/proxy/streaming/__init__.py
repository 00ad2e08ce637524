"""Stream inspection for the proxy: SSE and NDJSON filters with a sliding window, so a
value split across frames is still caught, and request-scoped detokenization inside
streams. The proxy feeds upstream bytes in and sends what comes out; see
``docs/decisions/0009-stream-inspection.md``."""

from __future__ import annotations

from haechi.proxy.streaming.filter import (
    BLOCK_MESSAGES,
    DEFAULT_MAX_FRAME_BYTES,
    NdjsonFilter,
    SseFilter,
    StreamFilter,
    stream_filter_for,
)
from haechi.proxy.streaming.protection import StreamProtection
from haechi.proxy.streaming.route import StreamRoute

__all__ = [
    "BLOCK_MESSAGES",
    "DEFAULT_MAX_FRAME_BYTES",
    "NdjsonFilter",
    "SseFilter",
    "StreamFilter",
    "StreamProtection",
    "StreamRoute",
    "stream_filter_for",
]
