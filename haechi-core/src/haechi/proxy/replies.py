"""The proxy's own JSON answers: pretty-printed with a trailing newline, as the reference
writes them. Messages are fixed sentences or numbers from the config, never request data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from haechi.jsoncodec import dumps_pretty

__all__ = ["error_reply", "json_reply"]

JSON_CONTENT_TYPE = "application/json"


def json_reply(status: int, body: Mapping[str, Any], *,
               headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=(dumps_pretty(body) + "\n").encode("utf-8"),
                        content_type=JSON_CONTENT_TYPE, headers=headers)


def error_reply(status: int, error: str, message: str, *,
                headers: Mapping[str, str] | None = None) -> web.Response:
    return json_reply(status, {"error": error, "message": message}, headers=headers)
