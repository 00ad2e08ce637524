"""Finding the streamed text inside a JSON frame, and recognising a choice's last frame."""

from __future__ import annotations

from typing import Any

import attrs

from haechi.proxy.streaming.route import DeltaPath

__all__ = ["DeltaSlot", "ends_choice", "find_delta"]

#: Keys whose non-null value on the choice (``choices[0]``, ``candidates[0]``) says it
#: is finished: OpenAI-compatible and Gemini.
_FINISH_KEYS = ("finish_reason", "finishReason")
#: Top-level keys that are ``true`` on the last frame: Ollama and llama.cpp ``/completion``.
_DONE_KEYS = ("done", "stop")


@attrs.define
class DeltaSlot:
    """Where a frame's streamed text lives: ``container[key]``."""

    container: Any
    key: str | int

    def take(self) -> str:
        """Return the text and leave ``""`` in its place (so the rest of the frame is
        protected without it)."""
        text = self.container[self.key]
        self.container[self.key] = ""
        return text

    def put(self, text: str) -> None:
        self.container[self.key] = text


def _step(node: Any, key: str | int) -> Any:
    """One step down the path, or None. A list step also checks the element's own
    ``index`` when it has one: a frame of choice 1 sits at position 0 when it is the
    only choice in its frame, and must not be taken for choice 0."""
    if isinstance(key, int):
        if not isinstance(node, list) or not 0 <= key < len(node):
            return None
        item = node[key]
        if isinstance(item, dict) and isinstance(item.get("index"), int) \
                and item["index"] != key:
            return None
        return item
    if isinstance(node, dict):
        return node.get(key)
    return None


def find_delta(frame: Any, path: DeltaPath) -> DeltaSlot | None:
    """The slot at ``path`` when it holds a string, else None."""
    node = frame
    for key in path[:-1]:
        node = _step(node, key)
        if node is None:
            return None
    last = path[-1]
    if not isinstance(_step(node, last), str):
        return None
    return DeltaSlot(node, last)


def ends_choice(frame: Any, path: DeltaPath) -> bool:
    """Whether this frame is the last one of the streamed choice: a finish reason on the
    element the path selects by index, or a top-level ``done``/``stop`` flag."""
    if not isinstance(frame, dict):
        return False
    if any(frame.get(key) is True for key in _DONE_KEYS):
        return True
    node: Any = frame
    for key in path:
        node = _step(node, key)
        if node is None:
            return False
        if isinstance(key, int):
            return isinstance(node, dict) and any(
                node.get(name) is not None for name in _FINISH_KEYS)
    return False
