"""A stand-in LLM server for ``scripts/demo --proxy`` — a demo stub, not a model, and not
something to put behind Haechi in production.

    python -m haechi.demo_upstream --port 0

It listens on loopback only (127.0.0.1), makes no other network connection, and prints one
JSON line ``{"port": N}`` once listening; SIGTERM or SIGINT stops it. It answers an
OpenAI-compatible ``POST /v1/chat/completions`` the way a model would, and its answer
repeats back every ``[TOKEN:tok_...]`` marker it found in the request, so the proxy's
detokenization of the response is visible to the client. ``GET /__demo/received`` lists
the request bodies exactly as they arrived, so the demo can show what the upstream saw.

The tests' multi-protocol stub (``tests/plugins/stub_upstream.py``) is deliberately separate:
this one serves the demo's single request and nothing more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
from typing import Any

from aiohttp import web

from haechi.vault.scope import MARKER_PREFIX
from haechi.vault.tokens import VAULT_TOKEN_SHAPE

__all__ = ["TOKEN_MARKER", "create_demo_upstream", "main", "reply_text"]

#: A vault token marker as the tokenize action writes it into a payload.
TOKEN_MARKER = re.compile(re.escape(MARKER_PREFIX) + VAULT_TOKEN_SHAPE.pattern + r"\]")

LOOPBACK = "127.0.0.1"
RECEIVED = web.AppKey("received", list)


def reply_text(body: Any) -> str:
    """The model's answer to ``body``: the token markers it carried, each once, in order."""
    markers = list(dict.fromkeys(TOKEN_MARKER.findall(json.dumps(body, ensure_ascii=False))))
    if not markers:
        return "Demo upstream: your request carried no token."
    return f"Demo upstream: your request carried {len(markers)} token(s): {', '.join(markers)}"


async def chat_completions(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": {"message": "the body is not JSON"}}, status=400)
    request.app[RECEIVED].append(body)
    model = body.get("model") if isinstance(body, dict) else None
    message = {"role": "assistant", "content": reply_text(body)}
    return web.json_response({
        "id": "chatcmpl-demo", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    })


async def received(request: web.Request) -> web.Response:
    return web.json_response(request.app[RECEIVED])


def create_demo_upstream() -> web.Application:
    app = web.Application()
    app[RECEIVED] = []
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/__demo/received", received)
    return app


async def _serve(port: int) -> None:
    runner = web.AppRunner(create_demo_upstream(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(json.dumps({"port": runner.addresses[0][1]}) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m haechi.demo_upstream",
                                     description="Demo stub LLM upstream (loopback only).")
    parser.add_argument("--port", type=int, default=0, help="listen port, 0 for any (default)")
    asyncio.run(_serve(parser.parse_args(argv).port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
