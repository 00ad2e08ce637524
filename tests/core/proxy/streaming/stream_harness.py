"""Upstream frames of each protocol, and a client-side reading of the filtered bytes
(written independently of the filter's own parsing)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from haechi.proxy.streaming import StreamFilter, StreamRoute

OPENAI_CHAT = StreamRoute("sse", ("choices", 0, "delta", "content"))
ANTHROPIC_MESSAGES = StreamRoute(
    "sse", ("delta", "text"),
    frozenset({"content_block_stop", "message_delta", "message_stop"}))
OLLAMA_CHAT = StreamRoute("ndjson", ("message", "content"))
GEMINI_STREAM = StreamRoute("sse", ("candidates", 0, "content", "parts", 0, "text"))
OPENAI_RESPONSES = StreamRoute("sse", None)

EMAIL = "minji.kim@example.com"
PHONE = "010-1234-5678"
CARD = "4111 1111 1111 1111"
RAW_VALUES = (EMAIL, PHONE, CARD)


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data)
    lines = "".join(f"data: {line}\n" for line in body.split("\n"))
    return f"{head}{lines}\n".encode()


def openai_chunk(text: str | None, *, index: int = 0, finish: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    return sse({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": index, "delta": delta, "finish_reason": finish}]})


def openai_stream(pieces: Iterable[str], *, done: bool = True) -> bytes:
    frames = [openai_chunk("", finish=None)]
    frames += [openai_chunk(piece) for piece in pieces]
    frames.append(openai_chunk(None, finish="stop"))
    if done:
        frames.append(b"data: [DONE]\n\n")
    return b"".join(frames)


def anthropic_stream(pieces: Iterable[str]) -> bytes:
    frames = [
        sse({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1}}}, "message_start"),
        sse({"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}}, "content_block_start"),
        sse({"type": "ping"}, "ping"),
    ]
    frames += [sse({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
               for piece in pieces]
    frames += [
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"output_tokens": 9}}, "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]
    return b"".join(frames)


def ollama_stream(pieces: Iterable[str]) -> bytes:
    lines = [json.dumps({"model": "m", "message": {"role": "assistant", "content": piece},
                         "done": False}) for piece in pieces]
    lines.append(json.dumps({"model": "m", "message": {"role": "assistant", "content": ""},
                             "done": True, "done_reason": "stop"}))
    return "".join(line + "\n" for line in lines).encode()


def split_every(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def split_into(text: str, count: int) -> list[str]:
    """``text`` in ``count`` nearly equal pieces."""
    step = -(-len(text) // count)
    return split_every(text, step)


def run(stream_filter: StreamFilter, stream: bytes, chunk_size: int | None = None) -> bytes:
    """Feed ``stream`` in chunks as the proxy does; the finish, or the error frame."""
    size = chunk_size or len(stream) or 1
    out = [stream_filter.feed(stream[i:i + size]) for i in range(0, len(stream), size)]
    out.append(stream_filter.finish())
    if stream_filter.blocked:
        out.append(stream_filter.error_frame())
    return b"".join(out)


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """What an SSE client sees: ``{"event", "data"}`` per event (data joined by \\n)."""
    events = []
    for block in raw.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        events.append({"event": event, "data": "\n".join(data) if data else None})
    return events


def sse_json(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(e["data"]) for e in sse_events(raw)
            if e["data"] is not None and e["data"] != "[DONE]"]


def openai_text(raw: bytes, index: int = 0) -> str:
    text = ""
    for frame in sse_json(raw):
        for choice in frame.get("choices", []):
            if choice.get("index") == index:
                text += choice.get("delta", {}).get("content") or ""
    return text


def anthropic_text(raw: bytes) -> str:
    return "".join(frame["delta"].get("text", "") for frame in sse_json(raw)
                   if frame.get("type") == "content_block_delta")


def ollama_lines(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.decode("utf-8").split("\n") if line.strip()]


def ollama_text(raw: bytes) -> str:
    return "".join(line.get("message", {}).get("content", "") for line in ollama_lines(raw))
