"""The ``HAECHI_*`` environment overlay (spec section 2).

The overlay is applied to the parsed file before validation, and an environment value
wins over the file. Only these five settings can be overlaid; no secret or key setting
ever comes from the environment. An invalid value is reported naming the variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, get_args

import attrs

from haechi.config.constraints import check_http_url
from haechi.config.models import LogFormat, Mode

__all__ = ["ENV_SETTINGS", "EnvSetting", "apply_env_overlay"]


class _InvalidEnvValue(ValueError):
    pass


def _port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) > 65535:
        raise _InvalidEnvValue("expected an integer from 0 to 65535")
    return int(text)


def _non_empty(text: str) -> str:
    if not text:
        raise _InvalidEnvValue("expected a non-empty host name or address")
    return text


def _url(text: str) -> str:
    reason = check_http_url(text)
    if reason is not None:
        raise _InvalidEnvValue(reason)
    return text


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise _InvalidEnvValue("expected one of " + ", ".join(choices))
        return text

    return parse


@attrs.frozen
class EnvSetting:
    """One overlay variable: where it lands in the config (JSON keys) and its parser."""

    variable: str
    key_path: tuple[str, ...]
    parse: Callable[[str], Any]


ENV_SETTINGS: tuple[EnvSetting, ...] = (
    EnvSetting("HAECHI_PROXY_PORT", ("proxy", "port"), _port),
    EnvSetting("HAECHI_PROXY_HOST", ("proxy", "host"), _non_empty),
    EnvSetting("HAECHI_UPSTREAM", ("target", "upstream"), _url),
    EnvSetting("HAECHI_MODE", ("mode",), _one_of(get_args(Mode))),
    EnvSetting("HAECHI_LOG_FORMAT", ("logging", "format"), _one_of(get_args(LogFormat))),
)


def _with_value(raw: dict[str, Any], key_path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``raw`` with ``value`` set at ``key_path``. A section that is present but
    not an object is left alone, so the converter still reports it."""
    head, *rest = key_path
    if not rest:
        return {**raw, head: value}
    section = raw.get(head, {})
    if not isinstance(section, dict):
        return raw
    return {**raw, head: _with_value(section, tuple(rest), value)}


def apply_env_overlay(
    raw: dict[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The raw config with every set ``HAECHI_*`` variable applied, and the problems
    (one per invalid variable, naming it)."""
    problems = []
    for setting in ENV_SETTINGS:
        text = env.get(setting.variable)
        if text is None:
            continue
        try:
            raw = _with_value(raw, setting.key_path, setting.parse(text))
        except _InvalidEnvValue as exc:
            problems.append(f"{setting.variable}: {exc}")
    return raw, problems
