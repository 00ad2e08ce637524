"""Walking a JSON document: every string leaf, number leaf and object key, with its
PII-safe path, and the document's shape hash — in one pass.

A path is built from ``key_<shortHash(key)>`` segments joined by ``.`` and ``[i]`` array
indexes (``messages[0].content`` becomes ``key_f5cccfb73751[0].key_ed7002b439e9``), so
paths can be logged without revealing a key that is itself sensitive.

The shape (spec §7, ``payloadShapeHash``) replaces each string with
``{"type":"string","length":N}`` (N in UTF-16 code units) and each other leaf with
``{"type":T}``, keeping keys and array positions, in JavaScript's property order. It is
hashed for the audit log.

This is the hot path of every protect call, so the walk keeps one flat list of texts for
the detection engine and a tuple of facts per leaf; a :class:`Leaf` object with its path is
built only for the few leaves that have findings. The walk is iterative, so
``limits.maxNestingDepth`` is the only limit on depth.
"""

from __future__ import annotations

import math
from typing import Any

from haechi.canonical import js_number, js_string, short_hash
from haechi.errors import NestingTooDeep
from haechi.findings import LeafKind

__all__ = ["Leaf", "Walk", "key_segment", "walk_document"]

_NULL, _BOOL, _NUMBER = '{"type":"null"}', '{"type":"boolean"}', '{"type":"number"}'


class Leaf:
    """One scannable text of a document. ``parent[slot]`` holds the value (for a key leaf,
    ``parent`` is the object and ``slot`` the key itself); ``base`` is the path of the
    container that holds it."""

    __slots__ = ("base", "depth", "kind", "parent", "slot", "text")

    def __init__(self, text: str, parent: Any, slot: Any, kind: LeafKind, base: str,
                 depth: int) -> None:
        self.text = text
        self.parent = parent
        self.slot = slot
        self.kind = kind
        self.base = base
        self.depth = depth

    @property
    def path_text(self) -> str:
        if self.parent is None:
            return self.base
        if isinstance(self.slot, str):
            segment = key_segment(self.slot)
            return f"{self.base}.{segment}" if self.base else segment
        return f"{self.base}[{self.slot}]"


def key_segment(key: str) -> str:
    return "key_" + short_hash(key)


class Walk:
    """What :func:`walk_document` found: ``texts`` (every leaf's text, in document order,
    for the detection engine), :meth:`leaf` for the details of one of them, and the
    ``shape_hash`` of the document."""

    __slots__ = ("_facts", "shape_hash", "texts")

    def __init__(self, texts: list[str], facts: list[tuple], shape_hash: str) -> None:
        self.texts = texts
        self._facts = facts
        self.shape_hash = shape_hash

    def leaf(self, index: int) -> Leaf:
        return Leaf(self.texts[index], *self._facts[index])

    @property
    def leaves(self) -> list[Leaf]:
        return [self.leaf(index) for index in range(len(self.texts))]


def _is_array_index(key: str) -> bool:
    if not (key.isascii() and key.isdigit()):
        return False
    return (key == "0" or key[0] != "0") and int(key) < 2**32 - 1


def _object_items(obj: dict) -> Any:
    """Items in JavaScript's property order: array-index keys first, numerically."""
    if not any(key[:1].isdigit() and _is_array_index(key) for key in obj):
        return obj.items()
    indexes = sorted((key for key in obj if _is_array_index(key)), key=int)
    rest = [key for key in obj if not _is_array_index(key)]
    return [(key, obj[key]) for key in indexes + rest]


def walk_document(document: Any, *, max_depth: int, include_numbers: bool = True) -> Walk:
    """Walk ``document``. Raises :class:`NestingTooDeep` when containers nest deeper
    than ``max_depth`` (the root container is depth 1)."""
    texts: list[str] = []
    facts: list[tuple] = []
    shape: list[str] = []
    string_shapes: dict[int, str] = {}
    key_shapes: dict[str, str] = {}

    def string_shape(text: str) -> str:
        if text.isascii():
            length = len(text)
        else:
            length = len(text.encode("utf-16-le", "surrogatepass")) // 2
        cached = string_shapes.get(length)
        if cached is None:
            cached = string_shapes[length] = f'{{"type":"string","length":{length}}}'
        return cached

    def scalar(value: Any, parent: Any, slot: Any, path: str, depth: int) -> None:
        if value is None:
            shape.append(_NULL)
        elif value is True or value is False:
            shape.append(_BOOL)
        elif isinstance(value, int | float):
            shape.append(_NUMBER)
            if include_numbers and (isinstance(value, int) or math.isfinite(value)):
                texts.append(js_number(value))
                facts.append((parent, slot, "number", path, depth))
        elif isinstance(value, str):
            texts.append(value)
            facts.append((parent, slot, "value", path, depth))
            shape.append(string_shape(value))
        else:
            raise TypeError(f"cannot walk a value of type {type(value).__name__}")

    if type(document) is not dict and type(document) is not list:
        scalar(document, None, None, "", 0)
        return Walk(texts, facts, short_hash("".join(shape)))
    if max_depth < 1:
        raise NestingTooDeep(max_depth)
    add_text, add_fact, add_shape = texts.append, facts.append, shape.append
    root_is_object = type(document) is dict
    add_shape("{" if root_is_object else "[")
    items = _object_items(document) if root_is_object else enumerate(document)
    # A frame: (container, iterator over its items, its path, depth, is it an object).
    stack: list[tuple[Any, Any, str, int, bool]] = [
        (document, enumerate(items), "", 1, root_is_object)
    ]
    while stack:
        container, iterator, path, depth, is_object = stack[-1]
        for index, (slot, value) in iterator:
            if is_object:
                key_shape = key_shapes.get(slot)
                if key_shape is None:
                    key_shape = key_shapes[slot] = js_string(slot) + ":"
                add_shape("," + key_shape if index else key_shape)
                add_text(slot)
                add_fact((container, slot, "key", path, depth))
            elif index:
                add_shape(",")
            kind = type(value)
            if kind is str:
                add_text(value)
                add_fact((container, slot, "value", path, depth))
                add_shape(string_shape(value))
            elif kind is dict or kind is list:
                if depth + 1 > max_depth:
                    raise NestingTooDeep(max_depth)
                if is_object:
                    segment = key_segment(slot)
                    child_path = f"{path}.{segment}" if path else segment
                else:
                    child_path = f"{path}[{slot}]"
                child_is_object = kind is dict
                add_shape("{" if child_is_object else "[")
                child_items = _object_items(value) if child_is_object else enumerate(value)
                stack.append((value, enumerate(child_items), child_path, depth + 1,
                              child_is_object))
                break
            else:
                scalar(value, container, slot, path, depth)
        else:
            stack.pop()
            add_shape("}" if is_object else "]")
    return Walk(texts, facts, short_hash("".join(shape)))
