"""The names configuration may refer to: actions, adapters, detector types and the
components registered through the registry hooks.

The loader checks every name in the config against a :class:`KnownNames`, so a typo
(``"redcat"``, ``"olama"``) stops start-up instead of silently weakening protection.
The plugin manager builds one from the registries; :meth:`KnownNames.builtin` lists the
names the core ships with.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from haechi.config.constraints import KnownNameCategory
from haechi.config.presets import PRESETS
from haechi.detect.builtin import BuiltinDetector

__all__ = ["BUILTIN_DETECTOR_TYPES", "KnownNames"]

#: The 18 detector types of spec section 3.
BUILTIN_DETECTOR_TYPES = frozenset(BuiltinDetector.TYPES)


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen
class KnownNames:
    """Registered names, by registry.

    ``action_strengths`` maps each action to its strength (0 weakest); ``adapter_aliases``
    maps an alias such as ``llm-http`` to the adapter it stands for.
    """

    action_strengths: Mapping[str, int] = attrs.field(converter=_frozen_mapping)
    adapters: frozenset[str] = attrs.field(converter=frozenset)
    adapter_aliases: Mapping[str, str] = attrs.field(converter=_frozen_mapping)
    detector_types: frozenset[str] = attrs.field(converter=frozenset)
    authenticators: frozenset[str] = attrs.field(converter=frozenset)
    crypto_providers: frozenset[str] = attrs.field(converter=frozenset)
    audit_sinks: frozenset[str] = attrs.field(converter=frozenset)
    token_stores: frozenset[str] = attrs.field(converter=frozenset)

    @classmethod
    def builtin(cls) -> KnownNames:
        """The names the core distribution registers by itself."""
        return cls(
            action_strengths={
                "allow": 0,
                "redact": 1,
                "mask": 1,
                "tokenize": 2,
                "encrypt": 2,
                "block": 3,
            },
            adapters={
                "openai-compatible",
                "vllm-openai",
                "llama-cpp",
                "ollama",
                "anthropic",
                "gemini",
            },
            adapter_aliases={"llm-http": "openai-compatible"},
            detector_types=BUILTIN_DETECTOR_TYPES,
            authenticators={"none", "bearer", "external", "plugin"},
            crypto_providers={"local", "external"},
            audit_sinks={"jsonl"},
            token_stores={"local"},
        )

    def names(self, category: KnownNameCategory) -> frozenset[str]:
        """Every accepted name of one category (``preset`` names are the built-in presets)."""
        match category:
            case "action":
                return frozenset(self.action_strengths)
            case "preset":
                return frozenset(PRESETS)
            case "adapter":
                return self.adapters
            case "adapter_or_alias":
                return self.adapters | frozenset(self.adapter_aliases)
            case "authenticator":
                return self.authenticators
            case "crypto_provider":
                return self.crypto_providers
            case "audit_sink":
                return self.audit_sinks
            case "token_store":
                return self.token_stores
        raise AssertionError(category)

    def strength(self, action: str) -> int:
        return self.action_strengths[action]

    def adapter_for(self, target_type: str, target_adapter: str) -> str:
        """The adapter a target uses: ``target.type`` when it names an adapter itself,
        otherwise ``target.adapter`` (``type`` is then an alias such as ``llm-http``)."""
        return target_type if target_type in self.adapters else target_adapter
