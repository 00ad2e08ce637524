"""Bounded memory and fail-closed outcomes on hostile or broken upstream streams."""

from __future__ import annotations

import json

from haechi.proxy.streaming import BLOCK_MESSAGES
from stream_harness import (
    EMAIL,
    OLLAMA_CHAT,
    OPENAI_CHAT,
    RAW_VALUES,
    openai_chunk,
    run,
    sse,
    sse_events,
)


def test_a_200k_frame_stream_keeps_its_buffers_bounded(make_filter):
    window, max_frame = 64, 4096
    f = make_filter(OPENAI_CHAT, window=window, max_frame_bytes=max_frame)
    frame = openai_chunk("tok ")
    with_value = openai_chunk(f" {EMAIL} ")
    batch = frame * 99 + with_value  # one value every 100 frames
    # 64 KB-ish chunks that cut frames (and the email) at varying places
    stream_piece = batch * 20
    cut = 65_000
    max_buffered = max_held = 0
    emitted_values = 0
    leftover = b""
    for _ in range(100):  # 100 x 2,000 frames = 200,000 frames
        data = leftover + stream_piece
        for start in range(0, len(data) - cut, cut):
            out = f.feed(data[start:start + cut])
            emitted_values += out.count(b"[REDACTED:email]")
            assert EMAIL.encode() not in out
            max_buffered = max(max_buffered, f.buffered_bytes)
            max_held = max(max_held, f.held_units)
        leftover = data[start + cut:]
    out = f.feed(leftover) + f.finish()
    emitted_values += out.count(b"[REDACTED:email]")
    assert not f.blocked
    assert emitted_values == 2_000
    assert f.summary["byType"] == {"email": 2_000}
    assert max_buffered <= len(frame) + len(with_value)  # less than one frame held
    assert max_held <= window + len(f" {EMAIL} ")  # the window plus one frame's text


def test_an_oversize_frame_is_refused(make_filter):
    f = make_filter(OPENAI_CHAT, max_frame_bytes=1000)
    out = run(f, openai_chunk("a" * 2000))
    assert f.blocked and f.block_reason == "frame_too_large"
    error = json.loads(sse_events(out)[-1]["data"])["error"]
    assert error["message"] == BLOCK_MESSAGES["frame_too_large"]


def test_an_endless_frame_is_refused_before_its_end_arrives(make_filter):
    f = make_filter(OLLAMA_CHAT, max_frame_bytes=1000)
    for _ in range(3):
        assert f.feed(b'{"message":{"content":"' + b"a" * 400) == b""
    assert f.blocked and f.block_reason == "frame_too_large"
    assert f.buffered_bytes <= 1000 + 410


def test_a_match_that_never_ends_is_refused(make_filter):
    # An "sk-..." key that keeps growing keeps the commit point pulled back to its start;
    # the held text is capped at window + one frame instead of growing for ever.
    f = make_filter(OPENAI_CHAT, window=32, max_frame_bytes=200)
    piece = "Ab3dEf7hIj9kLm1nOp5rSt2vWx4zQ8"
    stream = openai_chunk("key: sk-" + piece) + openai_chunk(piece) * 40
    out = run(f, stream, chunk_size=500)
    assert f.blocked and f.block_reason == "match_too_long"
    assert f.held_units <= 32 + 200
    assert piece.encode() not in out and b"sk-" not in out


def test_deep_frames_are_refused(make_filter, runtime):
    depth = runtime.config.limits.max_nesting_depth + 5
    f = make_filter(OPENAI_CHAT)
    out = run(f, sse("[" * depth + "]" * depth))
    assert f.blocked and f.block_reason == "frame_too_deeply_nested"
    assert json.loads(sse_events(out)[-1]["data"])["error"]["reason"] == (
        "frame_too_deeply_nested")


def test_invalid_utf8_is_replaced_not_forwarded(make_filter):
    raw = (b'data: {"choices":[{"index":0,"delta":{"content":"ok \xff\xfe"}}]}\n\n'
           b"data: \xff\n\n")
    out = run(make_filter(OPENAI_CHAT), raw)
    assert b"\xff" not in out
    data = [event["data"] for event in sse_events(out)]
    assert "\ufffd" in data  # the non-JSON frame
    # what is sent is what was inspected
    text = "".join(json.loads(d)["choices"][0]["delta"]["content"] for d in data
                   if d.startswith("{"))
    assert text == "ok \ufffd\ufffd"


def test_no_raw_value_in_outputs_summary_or_error_frames(make_filter):
    for route in (OPENAI_CHAT, OLLAMA_CHAT):
        f = make_filter(route)
        text = " and ".join(RAW_VALUES)
        stream = (openai_chunk(text) if route is OPENAI_CHAT
                  else json.dumps({"message": {"content": text}}).encode())
        out = run(f, stream)
        text = out.decode() + json.dumps(f.summary) + f.error_frame().decode()
        for value in RAW_VALUES:
            assert value not in text
            assert value.replace(" ", "") not in text
