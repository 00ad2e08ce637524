"""Request-scoped detokenization inside streams."""

from __future__ import annotations

import re

import pytest
from haechi.pipeline import ProtectContext
from haechi.services import RuntimeActionServices
from stream_harness import (
    EMAIL,
    OLLAMA_CHAT,
    OPENAI_CHAT,
    PHONE,
    ollama_stream,
    ollama_text,
    openai_stream,
    openai_text,
    run,
    split_into,
)
from streaming_support import build_filter

TOKEN = re.compile(r"\[TOKEN:[^\]]+\]")


def _tokenize_request(rt, text):
    """Protect a request as the proxy does; returns (scope, protected text)."""
    scope = rt.vault.scope()
    context = ProtectContext(protocol="openai-compatible", operation="chat-completions",
                             direction="request", mode="enforce")
    _, policy = rt.policies.resolve((), {})
    result = rt.protector.protect({"content": text}, context, policy,
                                  services=RuntimeActionServices(rt, context, scope),
                                  audit=False)
    return scope, result.payload["content"]


@pytest.mark.parametrize("frames", [2, 3, 10])
def test_a_token_split_across_frames_comes_back_as_plaintext(tokenize_runtime, frames):
    scope, protected = _tokenize_request(tokenize_runtime, f"email {EMAIL}")
    token = TOKEN.search(protected).group(0)
    pieces = ["I will write to ", *split_into(token, frames), " soon."]
    f = build_filter(tokenize_runtime, OPENAI_CHAT, detokenizer=scope.stream())
    out = run(f, openai_stream(pieces), chunk_size=13)
    assert openai_text(out) == f"I will write to {EMAIL} soon."
    assert token.encode() not in out


def test_a_foreign_token_stays_as_it_is(tokenize_runtime):
    _, other = _tokenize_request(tokenize_runtime, f"call {PHONE}")
    foreign = TOKEN.search(other).group(0)
    scope, _ = _tokenize_request(tokenize_runtime, f"email {EMAIL}")
    f = build_filter(tokenize_runtime, OLLAMA_CHAT, detokenizer=scope.stream())
    out = run(f, ollama_stream(["echo ", *split_into(foreign, 3)]))
    assert ollama_text(out) == f"echo {foreign}"
    assert PHONE.encode() not in out


def test_a_value_first_seen_in_the_response_stays_tokenized(tokenize_runtime):
    # Response protection runs without the request's scope, so a token issued for a value
    # the model produced is not restored by the request's detokenizer.
    scope, _ = _tokenize_request(tokenize_runtime, "no values here")
    f = build_filter(tokenize_runtime, OPENAI_CHAT, detokenizer=scope.stream())
    out = run(f, openai_stream(["new ", *split_into(EMAIL, 3)]))
    assert EMAIL.encode() not in out
    assert TOKEN.fullmatch(openai_text(out).removeprefix("new "))
