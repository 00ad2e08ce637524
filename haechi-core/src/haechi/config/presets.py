"""The seven built-in policy presets of the reference (spec section 4), as data."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["PRESETS", "Preset"]


@attrs.frozen
class Preset:
    """A named bundle of actions. ``default_action`` is None when the preset leaves the
    default action alone; ``metadata`` carries non-action facts (``local-only``)."""

    name: str
    default_action: str | None
    actions: Mapping[str, str]
    metadata: Mapping[str, object] = MappingProxyType({})


def _preset(
    name: str,
    default_action: str | None,
    actions: dict[str, str],
    metadata: dict[str, object] | None = None,
) -> Preset:
    return Preset(name, default_action, MappingProxyType(actions), MappingProxyType(metadata or {}))


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            _preset("llm-redact", "redact", {"email": "redact", "phone": "mask"}),
            _preset("korean-pii", None, {"kr_rrn": "block", "phone": "mask", "email": "redact"}),
            _preset("secrets-only", None, {"api_key": "block", "secret": "block"}),
            _preset("strict-block", "block", {}),
            _preset(
                "mcp-basic",
                "redact",
                {"api_key": "block", "secret": "block", "kr_rrn": "block"},
            ),
            _preset(
                "local-inference",
                "redact",
                {
                    "email": "tokenize",
                    "phone": "mask",
                    "api_key": "block",
                    "secret": "block",
                    "kr_rrn": "block",
                },
            ),
            _preset("local-only", None, {}, {"transfer": {"allowExternal": False}}),
        )
    }
)
