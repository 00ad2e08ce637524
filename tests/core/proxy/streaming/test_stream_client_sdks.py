"""The real client SDKs read the filtered streams: they get the protected text, and after
a block they raise a visible error (quirk 6 fixed). No network: the SDKs' HTTP clients
are given an httpx mock transport that answers with the filter's output."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from stream_harness import (
    ANTHROPIC_MESSAGES,
    CARD,
    EMAIL,
    GEMINI_STREAM,
    OLLAMA_CHAT,
    OPENAI_CHAT,
    anthropic_stream,
    ollama_stream,
    openai_stream,
    run,
    split_into,
    sse,
)


def _transport(body: bytes, content_type: str, http: Any = httpx) -> Any:
    """A mock transport of ``http`` (the anthropic SDK runs on ``httpx2``, a fork with the
    same API, and refuses ``httpx`` objects)."""
    return http.MockTransport(
        lambda request: http.Response(200, headers={"content-type": content_type},
                                      content=body))


def _openai(body: bytes):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key="test", base_url="http://upstream.test/v1",
                           http_client=httpx.Client(
                               transport=_transport(body, "text/event-stream")))
    stream = client.chat.completions.create(model="m", messages=[], stream=True)
    return openai, "".join(chunk.choices[0].delta.content or ""
                           for chunk in stream if chunk.choices)


def _anthropic(body: bytes):
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    client = anthropic.Anthropic(api_key="test", base_url="http://upstream.test",
                                 http_client=httpx2.Client(
                                     transport=_transport(body, "text/event-stream", httpx2)))
    with client.messages.stream(model="m", max_tokens=10, messages=[]) as stream:
        return anthropic, "".join(stream.text_stream)


def _ollama(body: bytes):
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host="http://upstream.test",
                           transport=_transport(body, "application/x-ndjson"))
    return ollama, "".join(part.message.content or ""
                           for part in client.chat(model="m", messages=[], stream=True))


def _gemini(body: bytes):
    genai = pytest.importorskip("google.genai")
    client = genai.Client(api_key="test", http_options=genai.types.HttpOptions(
        base_url="http://upstream.test",
        httpx_client=httpx.Client(transport=_transport(body, "text/event-stream"))))
    chunks = client.models.generate_content_stream(model="m", contents="hi")
    return genai, "".join(chunk.text or "" for chunk in chunks)


CLEAN = ["Write to ", *split_into(EMAIL, 3), " today."]
BLOCKED = ["Card ", *split_into(CARD, 3), " on file."]


def test_openai_sdk_reads_the_protected_stream(make_filter):
    _, text = _openai(run(make_filter(OPENAI_CHAT), openai_stream(CLEAN)))
    assert text == "Write to [REDACTED:email] today."


def test_openai_sdk_raises_on_a_blocked_stream(make_filter):
    openai = pytest.importorskip("openai")
    body = run(make_filter(OPENAI_CHAT), openai_stream(BLOCKED))
    with pytest.raises(openai.APIError, match="blocked by Haechi policy"):
        _openai(body)


def test_anthropic_sdk_reads_the_protected_stream(make_filter):
    _, text = _anthropic(run(make_filter(ANTHROPIC_MESSAGES), anthropic_stream(CLEAN)))
    assert text == "Write to [REDACTED:email] today."


def test_anthropic_sdk_raises_on_a_blocked_stream(make_filter):
    anthropic = pytest.importorskip("anthropic")
    body = run(make_filter(ANTHROPIC_MESSAGES), anthropic_stream(BLOCKED))
    with pytest.raises(anthropic.APIError, match="blocked by Haechi policy"):
        _anthropic(body)


def test_ollama_client_reads_the_protected_stream(make_filter):
    _, text = _ollama(run(make_filter(OLLAMA_CHAT), ollama_stream(CLEAN)))
    assert text == "Write to [REDACTED:email] today."


def test_ollama_client_raises_on_a_blocked_stream(make_filter):
    ollama = pytest.importorskip("ollama")
    body = run(make_filter(OLLAMA_CHAT), ollama_stream(BLOCKED))
    with pytest.raises(ollama.ResponseError, match="blocked by Haechi policy"):
        _ollama(body)


def _gemini_stream(pieces: list[str]) -> bytes:
    frames = [sse({"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]},
                                   "index": 0}]}) for piece in pieces]
    return b"".join(frames)


def test_gemini_sdk_reads_the_protected_stream(make_filter):
    _, text = _gemini(run(make_filter(GEMINI_STREAM), _gemini_stream(CLEAN)))
    assert text == "Write to [REDACTED:email] today."


def test_gemini_sdk_raises_on_a_blocked_stream(make_filter):
    genai = pytest.importorskip("google.genai")
    body = run(make_filter(GEMINI_STREAM), _gemini_stream(BLOCKED))
    with pytest.raises(genai.errors.APIError, match="blocked by Haechi policy"):
        _gemini(body)
