"""docs/configuration.md documents every config key and every env overlay variable."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs
from haechi.config.converter import json_key
from haechi.config.env import ENV_SETTINGS
from haechi.config.models import HaechiConfig

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


def _nested_class(field_type: object) -> tuple[type | None, str]:
    """The attrs class inside a field type (through Optional, Annotated, tuple and
    Mapping), and the path suffix that reaches it."""
    origin = typing.get_origin(field_type)
    args = typing.get_args(field_type)
    if origin is typing.Annotated:
        return _nested_class(args[0])
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _nested_class(inner)
    if origin is tuple:
        inner, suffix = _nested_class(args[0])
        return inner, "[]" + suffix
    if origin in (Mapping, dict):
        inner, suffix = _nested_class(args[1])
        return inner, ".<name>" + suffix
    if isinstance(field_type, type) and attrs.has(field_type):
        return field_type, ""
    return None, ""


def key_paths(cls: type, prefix: str = "") -> Iterator[str]:
    hints = typing.get_type_hints(cls, include_extras=True)
    for field in attrs.fields(cls):
        if not field.metadata.get("json", True):
            continue
        path = prefix + json_key(field.name)
        yield path
        nested, suffix = _nested_class(hints[field.name])
        if nested is not None:
            yield from key_paths(nested, f"{path}{suffix}.")


def test_walker_reaches_nested_sections():
    paths = set(key_paths(HaechiConfig))
    assert "proxy.tls.keyFile" in paths
    assert "filters.customRules[].pattern" in paths
    assert "policy.profiles.<name>.rate.requestsPerMinute" in paths
    assert len(paths) > 100


def test_every_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = [path for path in key_paths(HaechiConfig) if f"`{path}`" not in text]
    assert not missing, f"docs/configuration.md does not document: {missing}"


def test_every_env_variable_is_documented():
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{setting.variable}`" in text for setting in ENV_SETTINGS)
