"""The real client libraries against ``haechi proxy`` (a real process) in front of the stub
upstream (another process): the upstream never sees a raw value in enforce mode, the client
gets the documented answer, and the audit log and the proxy's output hold no raw value."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.core.proxy.conftest import (
    RAW_EMAIL,
    RAW_KEY,
    RAW_PHONE,
    RAW_VALUES,
    ProxyProcess,
    assert_no_raw_values,
    make_workdir,
)

LEAKED_EMAIL = "leaked.person@example.com"
PROMPT = f"Please email {RAW_EMAIL} or call {RAW_PHONE} today."


def _inspecting(target_type: str):
    def edit(config):
        config["target"]["type"] = target_type
        config["responseProtection"]["enabled"] = True
        config["streaming"]["requestMode"] = "inspect"
    return edit


@pytest.fixture(scope="module")
def proxies(tmp_path_factory, stub):
    """One proxy per protocol family, shared by this module's tests."""
    started: dict[str, ProxyProcess] = {}
    try:
        for target in ("openai-compatible", "anthropic", "ollama", "gemini"):
            workdir = make_workdir(tmp_path_factory.mktemp(target), stub.url,
                                   _inspecting(target))
            started[target] = ProxyProcess(workdir)
        yield started
    finally:
        outputs = {name: proxy.stop() for name, proxy in started.items()}
    for name, proxy in started.items():
        assert_no_raw_values(outputs[name], proxy.audit_text(),
                             values=(*RAW_VALUES, LEAKED_EMAIL))


def _upstream_saw_no_raw_value(stub) -> None:
    assert_no_raw_values(stub.received_text())


# -- OpenAI -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openai_client(proxies):
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=proxies["openai-compatible"].url + "/v1", api_key="sk-test",
                         max_retries=0)


def test_openai_chat_completion(openai_client, stub):
    stub.clear()
    completion = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": PROMPT}])
    content = completion.choices[0].message.content
    assert content.startswith("You said: Please email [REDACTED:email]")
    assert_no_raw_values(content)
    _upstream_saw_no_raw_value(stub)


def test_openai_request_with_an_api_key_is_blocked(openai_client, stub):
    openai = pytest.importorskip("openai")
    stub.clear()
    with pytest.raises(openai.PermissionDeniedError) as refused:
        openai_client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"my key is {RAW_KEY}"}])
    assert refused.value.response.json()["error"] == "haechi_policy_block"
    assert stub.requests() == []


def test_openai_streaming_catches_a_value_split_across_frames(openai_client, stub):
    stub.clear()
    stream = openai_client.chat.completions.create(
        model="leak-email@3", stream=True, messages=[{"role": "user", "content": PROMPT}])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Please write to [REDACTED:email] for help."
    _upstream_saw_no_raw_value(stub)


def test_openai_response_protection(openai_client):
    openai = pytest.importorskip("openai")
    leaked = openai_client.chat.completions.create(
        model="leak-email", messages=[{"role": "user", "content": "hi"}])
    assert leaked.choices[0].message.content == "Please write to [REDACTED:email] for help."
    with pytest.raises(openai.APIStatusError) as blocked:
        openai_client.chat.completions.create(
            model="leak-card", messages=[{"role": "user", "content": "hi"}])
    assert blocked.value.status_code == 502
    assert blocked.value.response.json()["error"] == "haechi_response_policy_block"


def test_openai_stream_block_ends_with_a_visible_error(openai_client):
    openai = pytest.importorskip("openai")
    with pytest.raises(openai.APIError):
        stream = openai_client.chat.completions.create(
            model="leak-card@5", stream=True, messages=[{"role": "user", "content": "hi"}])
        received = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        # If the SDK did not raise, the stream must at least not carry the card.
        assert "1111 1111" not in received
        raise openai.APIError("stream ended without an error", request=None, body=None)


# -- Anthropic ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anthropic_client(proxies):
    anthropic = pytest.importorskip("anthropic")
    return anthropic.Anthropic(base_url=proxies["anthropic"].url, api_key="sk-ant-test",
                               max_retries=0)


def test_anthropic_messages(anthropic_client, stub):
    stub.clear()
    message = anthropic_client.messages.create(
        model="m", max_tokens=64, messages=[{"role": "user", "content": PROMPT}])
    text = message.content[0].text
    assert text.startswith("You said: Please email [REDACTED:email]")
    assert_no_raw_values(text)
    _upstream_saw_no_raw_value(stub)
    # The credential reaches the upstream (auth.provider none forwards authorization).
    headers = stub.requests()[-1]["headers"]
    assert "sk-ant-test" in headers.get("x-api-key", headers.get("authorization", ""))
    assert headers["anthropic-version"]


def test_anthropic_streaming(anthropic_client, stub):
    stub.clear()
    with anthropic_client.messages.stream(
            model="leak-email@2", max_tokens=64,
            messages=[{"role": "user", "content": PROMPT}]) as stream:
        text = "".join(stream.text_stream)
    assert text == "Please write to [REDACTED:email] for help."
    _upstream_saw_no_raw_value(stub)


# -- Ollama -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ollama_client(proxies):
    ollama = pytest.importorskip("ollama")
    return ollama.Client(host=proxies["ollama"].url)


def test_ollama_chat(ollama_client, stub):
    stub.clear()
    response = ollama_client.chat(model="m", messages=[{"role": "user", "content": PROMPT}],
                                  stream=False)
    assert response.message.content.startswith("You said: Please email [REDACTED:email]")
    _upstream_saw_no_raw_value(stub)


def test_ollama_chat_streaming(ollama_client, stub):
    stub.clear()
    parts = ollama_client.chat(model="leak-email@3", stream=True,
                               messages=[{"role": "user", "content": PROMPT}])
    text = "".join(part.message.content or "" for part in parts)
    assert text == "Please write to [REDACTED:email] for help."
    _upstream_saw_no_raw_value(stub)


def test_ollama_streams_by_default(proxies, stub):
    """A body without ``stream`` streams NDJSON, and is inspected."""
    body = json.dumps({"model": "leak-email@4", "messages": [{"role": "user",
                                                              "content": "hi"}]}).encode()
    request = urllib.request.Request(proxies["ollama"].url + "/api/chat", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = [json.loads(line) for line in response.read().splitlines() if line.strip()]
    assert len(lines) > 3 and lines[-1]["done"] is True
    text = "".join(line["message"]["content"] for line in lines)
    assert text == "Please write to [REDACTED:email] for help."


# -- Gemini -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gemini_client(proxies):
    genai = pytest.importorskip("google.genai")
    return genai.Client(api_key="gemini-test-key",
                        http_options=genai.types.HttpOptions(base_url=proxies["gemini"].url))


def test_gemini_generate_content(gemini_client, stub):
    stub.clear()
    response = gemini_client.models.generate_content(model="m", contents=PROMPT)
    assert response.text.startswith("You said: Please email [REDACTED:email]")
    _upstream_saw_no_raw_value(stub)
    received = stub.requests()[-1]
    assert received["path"].endswith("/models/m:generateContent")
    assert received["headers"]["x-goog-api-key"] == "gemini-test-key"


def test_gemini_stream_generate_content(gemini_client, stub):
    stub.clear()
    text = "".join(chunk.text or "" for chunk in gemini_client.models.generate_content_stream(
        model="leak-email@3", contents=PROMPT))
    assert text == "Please write to [REDACTED:email] for help."
    _upstream_saw_no_raw_value(stub)


def test_gemini_key_query_is_forwarded(proxies, stub):
    stub.clear()
    body = json.dumps({"contents": [{"parts": [{"text": "hi"}]}]}).encode()
    request = urllib.request.Request(
        proxies["gemini"].url + "/v1beta/models/m:generateContent?key=abc123", data=body,
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert stub.requests()[-1]["query"] == "key=abc123"
