"""OpenAI-compatible servers: the OpenAI API itself, vLLM and llama.cpp's server."""

from __future__ import annotations

from types import MappingProxyType

from haechi.adapters.route import Route
from haechi.adapters.table import PathTableAdapter
from haechi.hookspecs import hookimpl

__all__ = [
    "LlamaCppAdapter",
    "OpenAICompatibleAdapter",
    "VllmOpenAIAdapter",
    "haechi_register_protocol_adapters",
]

CHAT_COMPLETIONS = Route("chat-completions", stream_format="sse",
                         delta_path=("choices", 0, "delta", "content"))
COMPLETIONS = Route("completions", stream_format="sse", delta_path=("choices", 0, "text"))
RESPONSES = Route("responses", stream_format="sse")
EMBEDDINGS = Route("embeddings")

_OPENAI_ROUTES = MappingProxyType({
    "/v1/chat/completions": CHAT_COMPLETIONS,
    "/v1/completions": COMPLETIONS,
    "/v1/responses": RESPONSES,
    "/v1/embeddings": EMBEDDINGS,
})


class OpenAICompatibleAdapter(PathTableAdapter):
    NAME = "openai-compatible"
    ALIASES = ("llm-http",)
    ROUTES = _OPENAI_ROUTES


class VllmOpenAIAdapter(PathTableAdapter):
    """vLLM's OpenAI-compatible server: the same routes."""

    NAME = "vllm-openai"
    ROUTES = _OPENAI_ROUTES


class LlamaCppAdapter(PathTableAdapter):
    """llama.cpp's server: the OpenAI routes (without ``/v1/responses``) plus its own
    legacy ``/completion``."""

    NAME = "llama-cpp"
    ROUTES = MappingProxyType({
        "/v1/chat/completions": CHAT_COMPLETIONS,
        "/v1/completions": COMPLETIONS,
        "/v1/embeddings": EMBEDDINGS,
        "/completion": Route("legacy-completion", stream_format="sse", delta_path=("content",)),
    })


@hookimpl
def haechi_register_protocol_adapters(register):
    for adapter in (OpenAICompatibleAdapter, VllmOpenAIAdapter, LlamaCppAdapter):
        register(adapter)
