"""Walking a JSON document: every string leaf, number leaf and object key, with its
PII-safe path.

A path is built from ``key_<shortHash(key)>`` segments joined by ``.`` and ``[i]`` array
indexes (``messages[0].content`` becomes ``key_f5cccfb73751[0].key_ed7002b439e9``), so
paths can be logged without revealing a key that is itself sensitive.

The walk is iterative, so a configured ``limits.maxNestingDepth`` is the only limit on
depth (no Python recursion limit).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import attrs

from haechi.canonical import js_number, short_hash
from haechi.errors import NestingTooDeep
from haechi.findings import LeafKind

__all__ = ["Leaf", "collect_leaves", "key_segment"]


@attrs.define(slots=True)
class Leaf:
    """One scannable text of a document. ``parent[slot]`` holds the value (for a key leaf,
    ``parent`` is the object and ``slot`` the key itself)."""

    parent: Any
    slot: Any
    kind: LeafKind
    path_text: str
    text: str
    depth: int


@lru_cache(maxsize=4096)
def key_segment(key: str) -> str:
    return "key_" + short_hash(key)


def collect_leaves(document: Any, *, max_depth: int, include_numbers: bool = True) -> list[Leaf]:
    """Every leaf of ``document`` in document order (a key comes before its value).

    Raises :class:`NestingTooDeep` when containers nest deeper than ``max_depth`` (the
    root container is depth 1).
    """
    leaves: list[Leaf] = []
    if not isinstance(document, dict | list):
        _leaf_for_scalar(leaves, None, None, document, "", 0, include_numbers)
        return leaves
    if max_depth < 1:
        raise NestingTooDeep(max_depth)
    append = leaves.append
    # Each frame: (container, iterator over (slot, value), path of the container, depth).
    stack: list[tuple[Any, Any, str, int]] = [(document, _items(document), "", 1)]
    while stack:
        container, items, path, depth = stack[-1]
        is_object = isinstance(container, dict)
        for slot, value in items:
            if is_object:
                child_path = f"{path}.{key_segment(slot)}" if path else key_segment(slot)
                append(Leaf(container, slot, "key", child_path, slot, depth))
            else:
                child_path = f"{path}[{slot}]"
            if type(value) is str:
                append(Leaf(container, slot, "value", child_path, value, depth))
            elif isinstance(value, dict | list):
                if depth + 1 > max_depth:
                    raise NestingTooDeep(max_depth)
                stack.append((value, _items(value), child_path, depth + 1))
                break
            else:
                _leaf_for_scalar(leaves, container, slot, value, child_path, depth,
                                 include_numbers)
        else:
            stack.pop()
    return leaves


def _items(container: Any) -> Any:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def _leaf_for_scalar(
    leaves: list[Leaf], parent: Any, slot: Any, value: Any, path: str, depth: int,
    include_numbers: bool,
) -> None:
    if isinstance(value, str):
        leaves.append(Leaf(parent, slot, "value", path, value, depth))
    elif include_numbers and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return
        leaves.append(Leaf(parent, slot, "number", path, js_number(value), depth))
