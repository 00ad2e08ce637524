"""Anthropic flush types, Ollama NDJSON and Gemini SSE."""

from __future__ import annotations

import json

import pytest
from stream_harness import (
    ANTHROPIC_MESSAGES,
    CARD,
    EMAIL,
    GEMINI_STREAM,
    OLLAMA_CHAT,
    PHONE,
    anthropic_stream,
    anthropic_text,
    ollama_lines,
    ollama_stream,
    ollama_text,
    run,
    split_into,
    sse,
    sse_events,
    sse_json,
)


@pytest.mark.parametrize("frames", [2, 3, 10])
def test_anthropic_value_split_across_frames(make_filter, frames):
    pieces = ["Call ", *split_into(PHONE, frames), " now."]
    out = run(make_filter(ANTHROPIC_MESSAGES), anthropic_stream(pieces), chunk_size=11)
    assert anthropic_text(out) == "Call 01*********78 now."
    assert PHONE.encode() not in out


def test_anthropic_tail_is_flushed_before_content_block_stop(make_filter):
    out = run(make_filter(ANTHROPIC_MESSAGES), anthropic_stream(["Hi ", EMAIL]))
    events = sse_events(out)
    names = [e["event"] for e in events]
    stop = names.index("content_block_stop")
    before = [json.loads(e["data"]) for e in events[:stop]]
    assert "".join(f["delta"]["text"] for f in before if f["type"] == "content_block_delta") \
        == "Hi [REDACTED:email]"
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    # the flushed tail travels in a content_block_delta event like the others
    assert names[stop - 1] == "content_block_delta"
    assert "ping" in names


def test_anthropic_each_block_is_flushed_on_its_own(make_filter):
    stream = anthropic_stream(["first ", EMAIL]) + sse(
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "text_delta", "text": "second " + PHONE}}, "content_block_delta")
    out = run(make_filter(ANTHROPIC_MESSAGES), stream)
    assert anthropic_text(out) == "first [REDACTED:email]second 01*********78"


def test_anthropic_block_sends_an_error_event(make_filter):
    f = make_filter(ANTHROPIC_MESSAGES)
    out = run(f, anthropic_stream(["card ", *split_into(CARD, 10)]))
    assert f.blocked
    assert b"4111" not in out
    last = sse_events(out)[-1]
    assert last["event"] == "error"
    assert json.loads(last["data"])["type"] == "error"
    assert "message_stop" not in [e["event"] for e in sse_events(out)]


@pytest.mark.parametrize("frames", [2, 3, 10])
def test_ollama_value_split_across_lines(make_filter, frames):
    pieces = ["Mail ", *split_into(EMAIL, frames), " please."]
    out = run(make_filter(OLLAMA_CHAT), ollama_stream(pieces), chunk_size=9)
    assert ollama_text(out) == "Mail [REDACTED:email] please."
    assert EMAIL.encode() not in out


def test_ollama_tail_travels_in_the_done_line(make_filter):
    out = run(make_filter(OLLAMA_CHAT), ollama_stream(["Hi ", PHONE]))
    lines = ollama_lines(out)
    assert lines[-1]["done"] is True
    # the client that stops at done:true has the whole text
    assert "".join(line["message"]["content"] for line in lines) == "Hi 01*********78"
    assert lines[-1]["message"]["content"].endswith("01*********78")


def test_ollama_block_sends_an_error_line(make_filter):
    f = make_filter(OLLAMA_CHAT)
    out = run(f, ollama_stream(["card ", *split_into(CARD, 3)]))
    assert f.blocked
    last = ollama_lines(out)[-1]
    assert set(last) >= {"error"} and "blocked" in last["error"]
    assert b"4111" not in out


def test_ollama_crlf_and_blank_lines(make_filter):
    stream = ollama_stream(["a ", EMAIL]).replace(b"\n", b"\r\n\r\n")
    out = run(make_filter(OLLAMA_CHAT), stream, chunk_size=3)
    assert ollama_text(out) == "a [REDACTED:email]"


def test_gemini_tail_travels_in_the_finishing_frame(make_filter):
    def chunk(text, finish=None):
        candidate = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return sse({"candidates": [candidate]})

    stream = chunk("Reach me at ") + chunk(EMAIL[:9]) + chunk(EMAIL[9:] + ".", "STOP")
    out = run(make_filter(GEMINI_STREAM), stream)
    frames = sse_json(out)
    texts = [f["candidates"][0]["content"]["parts"][0]["text"] for f in frames]
    assert "".join(texts) == "Reach me at [REDACTED:email]."
    assert frames[-1]["candidates"][0]["finishReason"] == "STOP"
    assert texts[-1].endswith("[REDACTED:email].")
