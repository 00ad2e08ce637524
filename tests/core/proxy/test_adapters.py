from __future__ import annotations

import pytest
from haechi.plugins import Registries, create_plugin_manager


@pytest.fixture(scope="module")
def adapters():
    return Registries.collect(create_plugin_manager(load_entry_points=False)).protocol_adapters


def test_every_adapter_of_the_spec_is_registered_with_its_alias(adapters):
    for name in ("openai-compatible", "vllm-openai", "llama-cpp", "ollama", "anthropic",
                 "gemini"):
        assert name == adapters[name].NAME
    assert adapters["llm-http"] is adapters["openai-compatible"]


@pytest.mark.parametrize(("adapter", "path", "route_id", "stream_format", "delta", "default"), [
    ("openai-compatible", "/v1/chat/completions", "chat-completions", "sse",
     ("choices", 0, "delta", "content"), False),
    ("openai-compatible", "/v1/completions", "completions", "sse", ("choices", 0, "text"),
     False),
    ("openai-compatible", "/v1/responses", "responses", "sse", None, False),
    ("openai-compatible", "/v1/embeddings", "embeddings", None, None, False),
    ("vllm-openai", "/v1/chat/completions", "chat-completions", "sse",
     ("choices", 0, "delta", "content"), False),
    ("llama-cpp", "/completion", "legacy-completion", "sse", ("content",), False),
    ("ollama", "/api/chat", "chat", "ndjson", ("message", "content"), True),
    ("ollama", "/api/generate", "generate", "ndjson", ("response",), True),
    ("ollama", "/api/embed", "embed", None, None, False),
    ("ollama", "/api/embeddings", "embeddings", None, None, False),
    ("anthropic", "/v1/messages", "messages", "sse", ("delta", "text"), False),
    ("anthropic", "/v1/messages/count_tokens", "count-tokens", None, None, False),
    ("anthropic", "/v1/complete", "complete", "sse", ("completion",), False),
    ("gemini", "/v1beta/models/gemini-2.0-flash:generateContent", "generateContent", None,
     None, False),
    ("gemini", "/v1/projects/p/models/x:streamGenerateContent", "streamGenerateContent", "sse",
     ("candidates", 0, "content", "parts", 0, "text"), True),
    ("gemini", "/v1beta/models/m:countTokens", "countTokens", None, None, False),
    ("gemini", "/v1beta/models/m:embedContent", "embedContent", None, None, False),
    ("gemini", "/v1beta/models/m:batchEmbedContents", "batchEmbedContents", None, None, False),
])
def test_routes(adapters, adapter, path, route_id, stream_format, delta, default):
    route = adapters[adapter]().classify("POST", path)
    assert (route.route_id, route.stream_format, route.delta_path, route.streams_by_default) == (
        route_id, stream_format, delta, default)


@pytest.mark.parametrize(("adapter", "path"), [
    ("openai-compatible", "/v1/chat/completions/extra"),
    ("openai-compatible", "/api/chat"),
    ("llama-cpp", "/v1/responses"),
    ("ollama", "/v1/chat/completions"),
    ("anthropic", "/v1/messages/batches"),
    ("gemini", "/v1beta/models/m:unknownMethod"),
    ("gemini", "/v1beta/models/m"),
    ("gemini", "/v1beta/models:generateContent/extra"),
])
def test_unlisted_paths_are_unknown(adapters, adapter, path):
    assert adapters[adapter]().classify("POST", path).route_id == "unknown"


def test_anthropic_flushes_on_block_and_message_ends(adapters):
    route = adapters["anthropic"]().classify("POST", "/v1/messages")
    assert route.flush_types == {"content_block_stop", "message_delta", "message_stop"}
