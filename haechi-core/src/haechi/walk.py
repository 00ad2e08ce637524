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
import re
from typing import Any

from haechi.canonical import js_number, js_string, short_hash
from haechi.errors import NestingTooDeep
from haechi.findings import LeafKind

__all__ = ["Leaf", "Walk", "key_segment", "walk_document"]

_NULL, _BOOL, _NUMBER = '{"type":"null"}', '{"type":"boolean"}', '{"type":"number"}'

#: The shape of a string of each length up to 4 KiB (UTF-16 units), built once.
_SHORT_STRING_SHAPES = tuple(f'{{"type":"string","length":{n}}}' for n in range(4096))


def _string_shape(text: str) -> str:
    length = len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2
    if length < len(_SHORT_STRING_SHAPES):
        return _SHORT_STRING_SHAPES[length]
    return f'{{"type":"string","length":{length}}}'


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


#: Object keys repeat across requests ("messages", "role", "content"), so their path
#: segment and shape fragment are kept process-wide — but only for schema-like keys: at most
#: 32 ASCII letters, ``_`` and ``-``. A key holding a digit, ``@``, ``.`` or anything else
#: could itself be sensitive (an email or an ID used as a map key) and is never kept beyond
#: the call that saw it. The tables are bounded; once full, keys are computed per call.
_CACHED_KEY_LENGTH = 32
_CACHED_KEYS = 4096
_SCHEMA_KEY = re.compile(r"[A-Za-z_-]+\Z")
_key_segments: dict[str, str] = {}
_key_fragments: dict[str, tuple[str, str]] = {}


def _remember(table: dict[str, Any], key: str, value: Any) -> Any:
    if len(key) <= _CACHED_KEY_LENGTH and len(table) < _CACHED_KEYS and _SCHEMA_KEY.match(key):
        table[key] = value
    return value


def key_segment(key: str) -> str:
    segment = _key_segments.get(key)
    if segment is None:
        segment = _remember(_key_segments, key, "key_" + short_hash(key))
    return segment


def _key_fragment(key: str) -> tuple[str, str]:
    """``"key":`` as the shape's JSON text writes it, and the same after a comma."""
    fragments = _key_fragments.get(key)
    if fragments is None:
        fragment = js_string(key) + ":"
        fragments = _remember(_key_fragments, key, (fragment, "," + fragment))
    return fragments


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
    # An array index opens with an ASCII digit, and ":" is the character after "9": when
    # the smallest key is not below ":" (keys opening with a letter, "_" or "@"), no key
    # opens with a digit (one comparison pass in C).
    if not obj or min(obj) >= ":" or not any(
        key[:1].isdigit() and _is_array_index(key) for key in obj
    ):
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
            shape.append(_string_shape(value))
        else:
            raise TypeError(f"cannot walk a value of type {type(value).__name__}")

    if type(document) is not dict and type(document) is not list:
        scalar(document, None, None, "", 0)
        return Walk(texts, facts, short_hash("".join(shape)))
    if max_depth < 1:
        raise NestingTooDeep(max_depth)
    add_text, add_fact, add_shape = texts.append, facts.append, shape.append
    short_shapes, short_limit = _SHORT_STRING_SHAPES, len(_SHORT_STRING_SHAPES)
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
                key_shapes = _key_fragments.get(slot) or _key_fragment(slot)
                add_shape(key_shapes[1] if index else key_shapes[0])
                add_text(slot)
                add_fact((container, slot, "key", path, depth))
            elif index:
                add_shape(",")
            kind = type(value)
            if kind is str:
                add_text(value)
                add_fact((container, slot, "value", path, depth))
                add_shape(short_shapes[len(value)] if len(value) < short_limit and value.isascii()
                          else _string_shape(value))
            elif value is None:
                add_shape(_NULL)
            elif kind is bool:
                add_shape(_BOOL)
            elif kind is dict or kind is list:
                if depth + 1 > max_depth:
                    raise NestingTooDeep(max_depth)
                if is_object:
                    segment = _key_segments.get(slot) or key_segment(slot)
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
