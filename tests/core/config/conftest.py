from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from haechi.config import config_from_dict, default_config_dict
from haechi.errors import ConfigError


def _nested_set(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    result = copy.deepcopy(document)
    *parents, last = dotted.split(".")
    node = result
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return result


@pytest.fixture
def with_value() -> Callable[..., dict[str, Any]]:
    """``with_value("proxy.port", 1)`` -> a default config with one key changed."""

    def build(dotted: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
        return _nested_set(base if base is not None else default_config_dict(), dotted, value)

    return build


@pytest.fixture
def problems_of() -> Callable[..., tuple[str, ...]]:
    """The problems a config dict is rejected with (fails the test if it loads)."""

    def collect(raw: dict[str, Any], env: dict[str, str] | None = None) -> tuple[str, ...]:
        with pytest.raises(ConfigError) as caught:
            config_from_dict(raw, env=env or {})
        return caught.value.problems

    return collect


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[Any], Path]:
    def write(document: Any) -> Path:
        path = tmp_path / "haechi.config.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    return write


@pytest.fixture
def defaults() -> dict[str, Any]:
    return default_config_dict()
