"""Load ``haechi.config.json``: read, overlay the environment, structure, validate.

Every problem is collected and raised together as one :class:`ConfigError`, one line
each, so an operator fixes a config in one pass. The same validation runs for every
command (quirk 15 fixed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_type_hints

import attrs
import cattrs
from cattrs.errors import ClassValidationError

from haechi.config.converter import (
    STRUCTURE_ERRORS,
    build_converter,
    describe_problems,
    json_key,
)
from haechi.config.env import apply_env_overlay
from haechi.config.known import KnownNames
from haechi.config.models import HaechiConfig
from haechi.config.policy import with_default_actions
from haechi.config.validation import config_problems
from haechi.errors import ConfigError

__all__ = ["config_from_dict", "load_config", "read_config_file"]


class _DuplicateKey(ValueError):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed JSON object of a config file; any failure is a one-line ConfigError
    naming the path."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: config file not found; run 'haechi init' to create one"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfigError([f"{path}: config file could not be read ({reason})"]) from None
    try:
        raw = json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except _DuplicateKey as exc:
        raise ConfigError(
            [f'{path}: config file is ambiguous: the key "{exc}" appears twice in one object']
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [
                f"{path}: config file is not valid JSON "
                f"({exc.msg} at line {exc.lineno}, column {exc.colno})"
            ]
        ) from None
    except ValueError as exc:
        raise ConfigError([f"{path}: config file is not valid JSON ({exc})"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the config must be a JSON object"])
    return raw


_CORE_FIELDS = {
    json_key(field.name): field.name
    for field in attrs.fields(HaechiConfig)
    if field.metadata.get("json", True)
}


def _structure_core(
    raw: dict[str, Any], converter: cattrs.Converter
) -> tuple[HaechiConfig, list[str], frozenset[str]]:
    """Structure the core sections. When some fail, the others are structured alone and
    the failed ones stand in as defaults, so cross-key rules can still check the rest."""
    try:
        return converter.structure(raw, HaechiConfig), [], frozenset()
    except ClassValidationError as exc:
        problems = describe_problems(exc)
        failed = frozenset(note.name for _, note in exc.group_exceptions()[0])
    types = get_type_hints(HaechiConfig, include_extras=True)
    sections = {
        name: converter.structure(raw[key], types[name])
        for key, name in _CORE_FIELDS.items()
        if key in raw and name not in failed
    }
    return HaechiConfig(**sections), problems, failed


def _structure_extra(
    raw: dict[str, Any], converter: cattrs.Converter, extra_sections: Mapping[str, type]
) -> tuple[dict[str, Any], list[str]]:
    sections: dict[str, Any] = {}
    problems: list[str] = []
    for name, section_type in extra_sections.items():
        if name in _CORE_FIELDS:
            problems.append(f"$.{name}: a plugin section may not reuse a core key")
            continue
        try:
            sections[name] = converter.structure(raw.get(name, {}), section_type)
        except STRUCTURE_ERRORS as exc:
            problems.extend(describe_problems(exc, f"$.{name}"))
    return sections, problems


def config_from_dict(
    raw: dict[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    known: KnownNames | None = None,
    extra_sections: Mapping[str, type] | None = None,
) -> HaechiConfig:
    """Validate a parsed config (see :func:`load_config`)."""
    known = known or KnownNames.builtin()
    extra_sections = extra_sections or {}
    converter = build_converter(known)
    raw, problems = apply_env_overlay(raw, os.environ if env is None else env)
    core_raw = {key: value for key, value in raw.items() if key not in extra_sections}
    if "policy" in core_raw:
        core_raw["policy"] = with_default_actions(core_raw["policy"])
    config, core_problems, failed = _structure_core(core_raw, converter)
    sections, section_problems = _structure_extra(raw, converter, extra_sections)
    problems += core_problems + section_problems
    config = attrs.evolve(config, sections=MappingProxyType(sections))
    problems += config_problems(config, known, failed_sections=failed)
    if problems:
        raise ConfigError(problems)
    return config


def load_config(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    known: KnownNames | None = None,
    extra_sections: Mapping[str, type] | None = None,
) -> HaechiConfig:
    """Read, overlay and validate a config file.

    :param env: the environment for the ``HAECHI_*`` overlay; None reads ``os.environ``.
    :param known: registered names (actions, adapters, providers, ...); None uses
        :meth:`KnownNames.builtin`.
    :param extra_sections: plugin-owned top-level sections, JSON key -> frozen attrs
        class; each is validated by the same converter and exposed as
        ``config.sections[key]`` (its defaults when the file omits it).
    :raises ConfigError: with every problem found, one line each.
    """
    return config_from_dict(
        read_config_file(path), env=env, known=known, extra_sections=extra_sections
    )
