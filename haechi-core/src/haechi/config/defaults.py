"""The configuration ``haechi init`` writes: every key with its default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haechi.config.converter import build_converter
from haechi.config.known import KnownNames
from haechi.config.models import HaechiConfig

__all__ = ["default_config_dict"]


def default_config_dict(extra_sections: Mapping[str, type] | None = None) -> dict[str, Any]:
    """Every core key with its default, as JSON (camelCase keys), followed by the
    defaults of each plugin-owned section. ``null`` marks a key that is unset."""
    converter = build_converter(KnownNames.builtin())
    document = converter.unstructure(HaechiConfig())
    for name, section_type in (extra_sections or {}).items():
        document[name] = converter.unstructure(section_type())
    return document
