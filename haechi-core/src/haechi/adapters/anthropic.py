"""Anthropic's Messages API (and the legacy Text Completions route)."""

from __future__ import annotations

from types import MappingProxyType

from haechi.adapters.route import Route
from haechi.adapters.table import PathTableAdapter
from haechi.hookspecs import hookimpl

__all__ = ["AnthropicAdapter", "haechi_register_protocol_adapters"]

#: Frames after which no more text of the current content block arrives.
MESSAGE_FLUSH_TYPES = frozenset({"content_block_stop", "message_delta", "message_stop"})


class AnthropicAdapter(PathTableAdapter):
    NAME = "anthropic"
    ROUTES = MappingProxyType({
        "/v1/messages": Route("messages", stream_format="sse", delta_path=("delta", "text"),
                              flush_types=MESSAGE_FLUSH_TYPES),
        "/v1/messages/count_tokens": Route("count-tokens"),
        "/v1/complete": Route("complete", stream_format="sse", delta_path=("completion",)),
    })


@hookimpl
def haechi_register_protocol_adapters(register):
    register(AnthropicAdapter)
