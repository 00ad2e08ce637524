"""A stub LLM upstream for the proxy tests and benchmarks, run as its own process:

    python tests/plugins/stub_upstream.py [--port 0]

It prints one JSON line ``{"port": N}`` once listening. It speaks just enough of the
OpenAI (chat completions), Anthropic (messages), Ollama (chat, generate) and Gemini
(generateContent, streamGenerateContent) wire formats for their official client libraries,
streaming included. Every request it receives is kept so a test can check what reached
the upstream: ``GET /__stub/requests`` lists them, ``DELETE /__stub/requests`` clears.

The answer is chosen by the model name (which the proxy never rewrites):
- any other model: the reply is ``You said: <last user text>`` (echo);
- ``leak-email`` / ``leak-card``: the reply carries a fixed email / card number;
- ``tool``: an OpenAI tool call whose arguments echo the user text as ``{"note": ...}``;
- ``nonjson`` / ``gzip``: a text/plain body / a gzip-compressed JSON body;
- ``slow``: the reply comes after ``?delay=`` seconds (default 2);
- ``big``: a JSON reply of ``?bytes=`` bytes; ``frames``: a stream of ``?frames=`` frames;
- with ``?reply=TEXT`` an OpenAI chat reply is TEXT itself (the query is not inspected by
  the proxy, so a test can put any text in a response).
A model name ending in ``@N`` streams its reply in pieces of N characters (default 4).
Any unknown path answers ``{"path", "query", "headers", "body"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import sys
import time
from typing import Any

from aiohttp import web

LEAKED_EMAIL = "leaked.person@example.com"
LEAKED_CARD = "4111 1111 1111 1111"

RECORDS = web.AppKey("records", list)


def _model_and_piece(model: str) -> tuple[str, int]:
    name, _, size = model.partition("@")
    return name, int(size) if size.isdigit() and int(size) > 0 else 4


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text_of(part.get("text", "")) if isinstance(part, dict) else ""
                       for part in content)
    return ""


def _last_message_text(body: dict) -> str:
    """The text of a chat body's last message (empty when there is none)."""
    messages = body.get("messages") or [{}]
    return _text_of(messages[-1].get("content"))


def _reply_text(model: str, user_text: str) -> str:
    if model == "leak-email":
        return f"Please write to {LEAKED_EMAIL} for help."
    if model == "leak-card":
        return f"The card on file is {LEAKED_CARD}."
    return f"You said: {user_text}"


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


async def _record(request: web.Request) -> Any:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    request.app[RECORDS].append({"method": request.method, "path": request.path,
                                 "query": request.query_string,
                                 "headers": {k.lower(): v for k, v in request.headers.items()},
                                 "body": body})
    return body if isinstance(body, dict) else {}


async def _special(request: web.Request, model: str) -> web.StreamResponse | None:
    """Answers that do not depend on the protocol."""
    if model == "slow":
        await asyncio.sleep(float(request.query.get("delay", "2")))
    if model == "nonjson":
        return web.Response(text="plain text answer", content_type="text/plain")
    if model == "gzip":
        body = gzip.compress(json.dumps({"answer": "compressed"}).encode())
        return web.Response(body=body, headers={"Content-Type": "application/json",
                                                "Content-Encoding": "gzip"})
    if model == "big":
        size = int(request.query.get("bytes", "2000000"))
        return web.json_response({"filler": "x" * size})
    if model == "frames":
        return await _many_frames(request, int(request.query.get("frames", "1000")))
    return None


async def _many_frames(request: web.Request, count: int) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    batch: list[bytes] = []
    for index in range(count):
        chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0,
                 "model": "frames", "choices": [{"index": 0, "delta": {"content": f"w{index} "},
                                                 "finish_reason": None}]}
        batch.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if len(batch) == 200:
            await response.write(b"".join(batch))
            batch.clear()
    batch.append(b"data: [DONE]\n\n")
    await response.write(b"".join(batch))
    await response.write_eof()
    return response


async def _sse(request: web.Request, events: list[tuple[str | None, Any]]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    for event, data in events:
        prefix = f"event: {event}\n".encode() if event else b""
        payload = data if isinstance(data, str) else json.dumps(data)
        await response.write(prefix + b"data: " + payload.encode() + b"\n\n")
    await response.write_eof()
    return response


# -- OpenAI -------------------------------------------------------------------------------


async def openai_chat(request: web.Request) -> web.StreamResponse:
    body = await _record(request)
    model, piece = _model_and_piece(str(body.get("model", "")))
    special = await _special(request, model)
    if special is not None:
        return special
    user_text = _last_message_text(body)
    created = int(time.time())
    if model == "tool":
        arguments = json.dumps({"note": user_text})
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "save_note", "arguments": arguments}}]}
        return web.json_response(_completion(body, created, message, "tool_calls"))
    text = request.query.get("reply") or _reply_text(model, user_text)
    if body.get("stream"):
        events: list[tuple[str | None, Any]] = []
        for index, part in enumerate(_pieces(text, piece)):
            delta = {"role": "assistant", "content": part} if index == 0 else {"content": part}
            events.append((None, _chunk(body, created, delta, None)))
        events.append((None, _chunk(body, created, {}, "stop")))
        events.append((None, "[DONE]"))
        return await _sse(request, events)
    return web.json_response(
        _completion(body, created, {"role": "assistant", "content": text}, "stop"))


def _completion(body: dict, created: int, message: dict, finish: str) -> dict:
    return {"id": "chatcmpl-stub", "object": "chat.completion", "created": created,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _chunk(body: dict, created: int, delta: dict, finish: str | None) -> dict:
    return {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": created,
            "model": body.get("model"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


# -- Anthropic ----------------------------------------------------------------------------


async def anthropic_messages(request: web.Request) -> web.StreamResponse:
    body = await _record(request)
    model, piece = _model_and_piece(str(body.get("model", "")))
    special = await _special(request, model)
    if special is not None:
        return special
    text = _reply_text(model, _last_message_text(body))
    usage = {"input_tokens": 1, "output_tokens": 1}
    message = {"id": "msg_stub", "type": "message", "role": "assistant", "model": model,
               "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
               "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        return web.json_response(message)
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": {**message, "content": [],
                                                                "stop_reason": None}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    for part in _pieces(text, piece):
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": part}}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return await _sse(request, events)


# -- Ollama -------------------------------------------------------------------------------


async def ollama_chat(request: web.Request) -> web.StreamResponse:
    body = await _record(request)
    model, piece = _model_and_piece(str(body.get("model", "")))
    special = await _special(request, model)
    if special is not None:
        return special
    is_chat = request.path == "/api/chat"
    if is_chat:
        text = _reply_text(model, _last_message_text(body))
    else:
        text = _reply_text(model, str(body.get("prompt", "")))
    created = "2025-01-01T00:00:00Z"

    def line(part: str, done: bool) -> dict:
        common = {"model": body.get("model"), "created_at": created, "done": done}
        if done:
            common.update(done_reason="stop", total_duration=1, eval_count=1)
        if is_chat:
            return {**common, "message": {"role": "assistant", "content": part}}
        return {**common, "response": part}

    if body.get("stream") is False:
        return web.json_response(line(text, True))
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    for part in _pieces(text, piece):
        await response.write(json.dumps(line(part, False)).encode() + b"\n")
    await response.write(json.dumps(line("", True)).encode() + b"\n")
    await response.write_eof()
    return response


# -- Gemini -------------------------------------------------------------------------------


async def gemini(request: web.Request) -> web.StreamResponse:
    body = await _record(request)
    model_path, _, method = request.match_info["rest"].rpartition(":")
    model, piece = _model_and_piece(model_path.rsplit("/", 1)[-1])
    special = await _special(request, model)
    if special is not None:
        return special
    contents = body.get("contents") or [{}]
    text = _reply_text(model, _text_of(contents[-1].get("parts")))

    def answer(part: str, finished: bool) -> dict:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": part}]},
                                     "index": 0}
        if finished:
            candidate["finishReason"] = "STOP"
        return {"candidates": [candidate], "modelVersion": model,
                "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1,
                                  "totalTokenCount": 2}}

    if method == "streamGenerateContent":
        parts = _pieces(text, piece)
        return await _sse(request, [(None, answer(p, i == len(parts) - 1))
                                    for i, p in enumerate(parts)])
    if method == "countTokens":
        return web.json_response({"totalTokens": 3})
    return web.json_response(answer(text, True))


# -- anything else ------------------------------------------------------------------------


async def echo(request: web.Request) -> web.Response:
    body = await _record(request)
    return web.json_response({"path": request.path, "query": request.query_string,
                              "headers": {k.lower(): v for k, v in request.headers.items()},
                              "body": body})


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[RECORDS])


async def clear_requests(request: web.Request) -> web.Response:
    request.app[RECORDS].clear()
    return web.json_response({"cleared": True})


def create_stub_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[RECORDS] = []
    app.router.add_get("/__stub/requests", list_requests)
    app.router.add_delete("/__stub/requests", clear_requests)
    app.router.add_post("/v1/chat/completions", openai_chat)
    app.router.add_post("/v1/messages", anthropic_messages)
    app.router.add_post("/api/chat", ollama_chat)
    app.router.add_post("/api/generate", ollama_chat)
    app.router.add_post("/{version}/{rest:models/.+}", gemini)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def _main(port: int) -> None:
    runner = web.AppRunner(create_stub_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    sys.stdout.write(json.dumps({"port": bound}) + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args().port))
