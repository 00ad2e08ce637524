"""Document-level detokenization of a protected response (spec section 6, request-scoped),
shared by the proxy and mcp-wrap.

Every string value and object key is passed through the request's
:class:`haechi.vault.TokenScope`, so only ``[TOKEN:...]`` markers issued while protecting
*this* request are restored; any other marker stays as it is. A tool call's
``function.arguments`` is a JSON document inside a string: it is parsed, detokenized as a
document and serialized again, so a restored value is escaped as JSON requires (a plain
text substitution could break the arguments with a quote or a backslash).
"""

from __future__ import annotations

from typing import Any

import attrs

from haechi.jsoncodec import dumps_compact, loads
from haechi.vault.scope import MARKER_PREFIX

__all__ = ["DetokenizeTally", "detokenize_document"]


@attrs.define
class DetokenizeTally:
    restored: int = 0
    not_restored: int = 0


def detokenize_document(document: Any, scope: Any) -> tuple[Any, DetokenizeTally]:
    """Restore this scope's tokens in ``document`` (rewritten in place where possible)."""
    tally = DetokenizeTally()
    return _walk(document, scope, tally), tally


def _text(text: str, scope: Any, tally: DetokenizeTally) -> str:
    if MARKER_PREFIX not in text:
        return text
    restored_text, restored, failed = scope.detokenize_text(text)
    tally.restored += restored
    tally.not_restored += failed
    return restored_text


def _arguments(text: str, scope: Any, tally: DetokenizeTally) -> str:
    if MARKER_PREFIX not in text:
        return text
    try:
        parsed = loads(text)
    except (ValueError, RecursionError):
        return _text(text, scope, tally)
    before = tally.restored
    rewritten = _walk(parsed, scope, tally)
    if tally.restored == before:
        return text
    return dumps_compact(rewritten).decode("utf-8")


#: Objects whose ``arguments`` member is JSON text (OpenAI tool calls, legacy function calls).
_FUNCTION_KEYS = frozenset({"function", "function_call"})


def _walk(node: Any, scope: Any, tally: DetokenizeTally) -> Any:
    # An explicit stack keeps deep documents off Python's recursion limit.
    root = [node]
    stack: list[tuple[Any, Any, bool]] = [(root, 0, False)]
    while stack:
        parent, slot, inside_function = stack.pop()
        value = parent[slot]
        if isinstance(value, str):
            parent[slot] = (_arguments if inside_function and slot == "arguments"
                            else _text)(value, scope, tally)
        elif isinstance(value, list):
            stack.extend((value, index, False) for index in range(len(value)))
        elif isinstance(value, dict):
            if any(MARKER_PREFIX in key for key in value):
                _restore_keys(value, scope, tally)
            for key in value:
                stack.append((value, key, slot in _FUNCTION_KEYS))
    return root[0]


def _restore_keys(obj: dict, scope: Any, tally: DetokenizeTally) -> None:
    """Rename keys in place, keeping their order; a restored key that would collide with
    an existing one keeps its marker (no member is lost)."""
    items = list(obj.items())
    obj.clear()
    for key, value in items:
        new_key = _text(key, scope, tally)
        obj[new_key if new_key == key or new_key not in obj else key] = value
