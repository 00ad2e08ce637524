"""Ollama's native API: chat and generate stream NDJSON unless ``"stream": false``."""

from __future__ import annotations

from types import MappingProxyType

from haechi.adapters.route import Route
from haechi.adapters.table import PathTableAdapter
from haechi.hookspecs import hookimpl

__all__ = ["OllamaAdapter", "haechi_register_protocol_adapters"]


class OllamaAdapter(PathTableAdapter):
    NAME = "ollama"
    ROUTES = MappingProxyType({
        "/api/chat": Route("chat", streams_by_default=True, stream_format="ndjson",
                           delta_path=("message", "content")),
        "/api/generate": Route("generate", streams_by_default=True, stream_format="ndjson",
                               delta_path=("response",)),
        "/api/embed": Route("embed"),
        "/api/embeddings": Route("embeddings"),
    })


@hookimpl
def haechi_register_protocol_adapters(register):
    register(OllamaAdapter)
