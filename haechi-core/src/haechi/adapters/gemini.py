"""Google's Gemini API: the method is the path suffix after the last ``:``
(``/v1beta/models/gemini-2.0-flash:generateContent``), under any prefix or model name.
The ``?key=`` query is forwarded unchanged with the rest of the query string."""

from __future__ import annotations

from types import MappingProxyType

from haechi.adapters.route import UNKNOWN_ROUTE, Route
from haechi.hookspecs import hookimpl

__all__ = ["GeminiAdapter", "haechi_register_protocol_adapters"]


class GeminiAdapter:
    NAME = "gemini"
    ALIASES: tuple[str, ...] = ()
    METHODS = MappingProxyType({
        "generateContent": Route("generateContent"),
        "streamGenerateContent": Route(
            "streamGenerateContent", streams_by_default=True, stream_format="sse",
            delta_path=("candidates", 0, "content", "parts", 0, "text"),
        ),
        "countTokens": Route("countTokens"),
        "embedContent": Route("embedContent"),
        "batchEmbedContents": Route("batchEmbedContents"),
    })

    def classify(self, method: str, path: str) -> Route:
        last_segment = path.rsplit("/", 1)[-1]
        _, colon, suffix = last_segment.rpartition(":")
        if not colon:
            return UNKNOWN_ROUTE
        return self.METHODS.get(suffix, UNKNOWN_ROUTE)


@hookimpl
def haechi_register_protocol_adapters(register):
    register(GeminiAdapter)
