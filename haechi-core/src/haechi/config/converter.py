"""The one strict cattrs converter for configuration.

cattrs' default converter is lenient in ways a security gateway cannot afford:
``bool("false")`` is True, ``int(8080.9)`` is 8080, a string is an iterable of
characters. This converter instead

* refuses unknown keys at every level (``forbid_extra_keys``);
* accepts a JSON value only when its JSON type is the expected one (no bool for an
  int, no int for a bool, no string for a number, no string for a list);
* renames snake_case attributes to camelCase JSON keys;
* checks the :mod:`~haechi.config.constraints` markers (ranges, non-empty, known names)
  while structuring, so value problems arrive in the same exception group as type
  problems.

:func:`describe_problems` walks cattrs' exception groups and produces one line per
problem, ``<path>: <what was expected>``, where the path names the JSON key
(``$.policy.actions.card``). Messages never repeat a configured value, only names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from haechi.config.constraints import (
    Between,
    HttpUrlMarker,
    KnownName,
    Lowercase,
    NonEmpty,
    check_http_url,
)
from haechi.config.known import KnownNames
from haechi.config.models import AllowlistEntry

__all__ = [
    "STRUCTURE_ERRORS",
    "ConfigValueError",
    "build_converter",
    "describe_problems",
    "json_key",
    "json_kind",
    "key_path",
]

Hook = Callable[[Any, Any], Any]


class ConfigValueError(ValueError):
    """A value of the right JSON type that breaks a constraint, or a value of the wrong
    JSON type. The message says what was expected and never contains the value."""


#: What :meth:`cattrs.Converter.structure` raises with this converter on bad input.
STRUCTURE_ERRORS = (BaseValidationError, ConfigValueError)


def json_key(attribute_name: str) -> str:
    """The camelCase JSON key of a snake_case attribute name."""
    head, *rest = attribute_name.split("_")
    return head + "".join(word.capitalize() for word in rest)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def key_path(parent: str, key: str | int) -> str:
    """Append a key or an index to a ``$.a.b[0]`` path."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f"{parent}.{key}"
    quoted = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{quoted}"]'


def json_kind(value: Any) -> str:
    """The JSON type of a parsed value, for messages (``"a string"``, ``"null"``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong_type(expected: str, value: Any) -> ConfigValueError:
    return ConfigValueError(f"expected {expected}, got {json_kind(value)}")


# --------------------------------------------------------------------------------------
# scalar hooks
# --------------------------------------------------------------------------------------


def _structure_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise _wrong_type("a string", value)
    return value


def _structure_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type("a boolean (true or false)", value)
    return value


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type("an integer", value)
    return value


def _structure_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type("a number", value)
    if not math.isfinite(value):
        raise ConfigValueError("expected a finite number")
    return float(value)


def _literal_hook(literal_type: Any) -> Hook:
    choices = get_args(literal_type)
    expected = "one of " + ", ".join(f'"{choice}"' for choice in choices)

    def structure_literal(value: Any, _: Any) -> Any:
        if not isinstance(value, str) or value not in choices:
            raise ConfigValueError(f"expected {expected}")
        return value

    return structure_literal


# --------------------------------------------------------------------------------------
# container hooks
# --------------------------------------------------------------------------------------


def _is_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(type_: Any) -> bool:
    return get_origin(type_) in (Mapping, dict) and get_args(type_)[:1] == (str,)


def _tuple_hook_factory(converter: cattrs.Converter) -> Callable[[Any], Hook]:
    def factory(tuple_type: Any) -> Hook:
        item_type = get_args(tuple_type)[0]
        item_hook = converter.get_structure_hook(item_type)

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise _wrong_type("an array", value)
            items, errors = [], []
            for index, item in enumerate(value):
                try:
                    items.append(item_hook(item, item_type))
                except Exception as exc:  # collected and reported together, as cattrs does
                    exc.add_note(IterableValidationNote(f"@ index {index}", index, item_type))
                    errors.append(exc)
            if errors:
                raise IterableValidationError("invalid array items", errors, tuple_type)
            return tuple(items)

        return structure_tuple

    return factory


def _mapping_hook_factory(converter: cattrs.Converter) -> Callable[[Any], Hook]:
    def factory(mapping_type: Any) -> Hook:
        value_type = get_args(mapping_type)[1]
        value_hook = converter.get_structure_hook(value_type)

        def structure_mapping(value: Any, _: Any) -> Mapping[str, Any]:
            if not isinstance(value, dict):
                raise _wrong_type("an object", value)
            entries, errors = {}, []
            for key, item in value.items():
                try:
                    entries[key] = value_hook(item, value_type)
                except Exception as exc:  # collected and reported together, as cattrs does
                    exc.add_note(IterableValidationNote(f"@ key {key}", key, value_type))
                    errors.append(exc)
            if errors:
                raise IterableValidationError("invalid object entries", errors, mapping_type)
            return MappingProxyType(entries)

        return structure_mapping

    return factory


# --------------------------------------------------------------------------------------
# Annotated constraints
# --------------------------------------------------------------------------------------


def _has_markers(type_: Any) -> bool:
    return get_origin(type_) is Annotated


def _check_marker(marker: Any, value: Any, known: KnownNames) -> None:
    if isinstance(marker, Between):
        if (marker.low is not None and value < marker.low) or (
            marker.high is not None and value > marker.high
        ):
            raise ConfigValueError(f"expected {marker.description}")
    elif isinstance(marker, NonEmpty):
        if len(value) == 0:
            raise ConfigValueError(
                "expected a non-empty string"
                if isinstance(value, str)
                else "expected a non-empty array"
            )
    elif isinstance(marker, Lowercase):
        if value != value.lower():
            raise ConfigValueError("expected a lowercase name")
    elif isinstance(marker, HttpUrlMarker):
        reason = check_http_url(value)
        if reason is not None:
            raise ConfigValueError(reason)
    elif isinstance(marker, KnownName):
        names = known.names(marker.category)
        if value not in names:
            label = marker.category.replace("_", " ")
            raise ConfigValueError(
                f'unknown {label} "{value}" (expected one of {", ".join(sorted(names))})'
            )


def _annotated_hook_factory(
    converter: cattrs.Converter, known: KnownNames
) -> Callable[[Any], Hook]:
    def factory(annotated_type: Any) -> Hook:
        base_type, *markers = get_args(annotated_type)
        base_hook = converter.get_structure_hook(base_type)

        def structure_constrained(value: Any, _: Any) -> Any:
            result = base_hook(value, base_type)
            for marker in markers:
                _check_marker(marker, result, known)
            return result

        return structure_constrained

    return factory


# --------------------------------------------------------------------------------------
# attrs classes
# --------------------------------------------------------------------------------------


def _json_fields(cls: type) -> list[attrs.Attribute]:
    return [field for field in attrs.fields(cls) if field.metadata.get("json", True)]


def _renames(cls: type) -> dict[str, Any]:
    renames = {field.name: override(rename=json_key(field.name)) for field in _json_fields(cls)}
    renames.update(
        {
            field.name: override(omit=True)
            for field in attrs.fields(cls)
            if field not in _json_fields(cls)
        }
    )
    return renames


def _attrs_hook_factory(converter: cattrs.Converter) -> Callable[[Any], Hook]:
    def factory(cls: type) -> Hook:
        generated = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=True, **_renames(cls)
        )

        def structure_object(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise _wrong_type("an object", value)
            return generated(value, cls)

        return structure_object

    return factory


def _allowlist_entry_hook(object_hook: Hook) -> Hook:
    def structure_allowlist_entry(value: Any, _: Any) -> AllowlistEntry:
        if isinstance(value, str):
            if not value:
                raise ConfigValueError("expected a non-empty string")
            return AllowlistEntry(value=value)
        if not isinstance(value, dict):
            raise _wrong_type("a string or an object with value and/or path", value)
        entry = object_hook(value, AllowlistEntry)
        if entry.value is None and entry.path is None:
            raise ConfigValueError("expected at least one of value or path")
        return entry

    return structure_allowlist_entry


# --------------------------------------------------------------------------------------
# the converter
# --------------------------------------------------------------------------------------


def build_converter(known: KnownNames) -> cattrs.Converter:
    """The strict converter, checking names against ``known``."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook_factory(lambda t: get_origin(t) is Literal, _literal_hook)
    converter.register_structure_hook_factory(_is_tuple, _tuple_hook_factory(converter))
    converter.register_structure_hook_factory(_is_mapping, _mapping_hook_factory(converter))
    converter.register_structure_hook_factory(
        _has_markers, _annotated_hook_factory(converter, known)
    )
    attrs_factory = _attrs_hook_factory(converter)
    converter.register_structure_hook_factory(attrs.has, attrs_factory)
    converter.register_structure_hook(
        AllowlistEntry, _allowlist_entry_hook(attrs_factory(AllowlistEntry))
    )

    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, converter, **_renames(cls))
    )
    converter.register_unstructure_hook(
        MappingProxyType, lambda mapping: {k: converter.unstructure(v) for k, v in mapping.items()}
    )
    converter.register_unstructure_hook(
        tuple, lambda items: [converter.unstructure(item) for item in items]
    )
    return converter


# --------------------------------------------------------------------------------------
# problems
# --------------------------------------------------------------------------------------


def _describe_leaf(exc: BaseException) -> str:
    if isinstance(exc, ConfigValueError):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required key is missing"
    return "invalid value"


def describe_problems(exc: BaseException, path: str = "$") -> list[str]:
    """One ``<path>: <problem>`` line per problem in a cattrs exception (group)."""
    if isinstance(exc, ClassValidationError):
        lines: list[str] = []
        with_notes, without_notes = exc.group_exceptions()
        for sub, note in with_notes:
            lines.extend(describe_problems(sub, key_path(path, json_key(note.name))))
        for sub in without_notes:
            if isinstance(sub, ForbiddenExtraKeysError):
                allowed = ", ".join(json_key(field.name) for field in _json_fields(sub.cl))
                lines.extend(
                    f"{key_path(path, key)}: unknown key (allowed keys: {allowed})"
                    for key in sorted(sub.extra_fields)
                )
            else:
                lines.extend(describe_problems(sub, path))
        return lines
    if isinstance(exc, IterableValidationError):
        lines = []
        with_notes, without_notes = exc.group_exceptions()
        for sub, note in with_notes:
            lines.extend(describe_problems(sub, key_path(path, note.index)))
        for sub in without_notes:
            lines.extend(describe_problems(sub, path))
        return lines
    return [f"{path}: {_describe_leaf(exc)}"]
