"""The runtime: one validated configuration wired to the registered components.

Commands, the proxy and the MCP filter all build a :class:`Runtime`; it owns the plugin
manager, the detection engine, the policies, the audit sink and — created on first use,
because many commands never need them — the crypto provider and the token vault.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from haechi.config import HaechiConfig, KnownNames, config_from_dict, load_config
from haechi.config.policy import PolicySet, build_policy_set, policy_from_bundle
from haechi.detect import DetectionEngine, custom_rule
from haechi.errors import HaechiError
from haechi.pipeline import ProtectContext, Protector
from haechi.plugins import HaechiPluginManager, Registries, create_plugin_manager

__all__ = ["DEFAULT_CONFIG_PATH", "Runtime", "default_runtime", "known_names"]

DEFAULT_CONFIG_PATH = "haechi.config.json"


def known_names(registries: Registries) -> KnownNames:
    """The names configuration may use, from what is registered."""
    detector_types: set[str] = set()
    for detector in registries.detectors.values():
        detector_types.update(detector.TYPES)
    adapters = {name for name, cls in registries.protocol_adapters.items()
                if getattr(cls, "NAME", None) == name}
    aliases = {name: cls.NAME for name, cls in registries.protocol_adapters.items()
               if getattr(cls, "NAME", None) != name}
    return KnownNames(
        action_strengths={name: cls.STRENGTH for name, cls in registries.actions.items()},
        adapters=adapters,
        adapter_aliases=aliases,
        detector_types=detector_types,
        # "none" needs no class: it is the absence of client authentication.
        authenticators=set(registries.authenticators) | {"none"},
        crypto_providers=set(registries.crypto_providers),
        audit_sinks=set(registries.audit_sinks),
        token_stores=set(registries.token_stores),
    )


class Runtime:
    """Everything a command needs, built from one configuration file."""

    def __init__(
        self,
        config: HaechiConfig,
        pm: HaechiPluginManager,
        registries: Registries,
        *,
        config_path: str | None = None,
        known: KnownNames | None = None,
    ) -> None:
        self.config = config
        self.pm = pm
        self.registries = registries
        self.config_path = config_path
        self.known = known or known_names(registries)
        pm.hook.haechi_configure(config=config)

    @classmethod
    def load(
        cls,
        config_path: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        pm: HaechiPluginManager | None = None,
    ) -> Runtime:
        path = str(config_path or DEFAULT_CONFIG_PATH)
        return cls._build(pm, lambda known, sections: load_config(
            path, env=os.environ if env is None else env, known=known, extra_sections=sections,
        ), config_path=path)

    @classmethod
    def _build(cls, pm: HaechiPluginManager | None, make_config: Any,
               config_path: str | None = None) -> Runtime:
        """Collect the registries, validate the config against their names, build."""
        pm = pm or create_plugin_manager()
        registries = Registries.collect(pm)
        known = known_names(registries)
        config = make_config(known, dict(registries.config_sections))
        return cls(config, pm, registries, config_path=config_path, known=known)

    def check_policy_document(self, policy: Any) -> None:
        """Validate a policy object (the value of ``policy``, e.g. before signing it) with
        the rules an inline policy obeys; raises ``ConfigError`` listing every problem."""
        policy_from_bundle(policy, self.config, self.known)

    # -- components -----------------------------------------------------------------------

    @cached_property
    def engine(self) -> DetectionEngine:
        rules = []
        scanners = []
        for detector_cls in self.registries.detectors.values():
            detector = detector_cls()
            rules.extend(detector.rules())
            if hasattr(detector, "scan"):
                scanners.append(detector.scan)
        for rule in self.config.filters.custom_rules:
            rules.append(custom_rule(rule.id, rule.type, rule.pattern, rule.flags,
                                     rule.confidence))
        return DetectionEngine(rules, scanners,
                               decode_and_rescan=self.config.filters.decode_and_rescan,
                               token_known=self.token_known)

    def token_known(self, token: str) -> bool:
        """Whether the token vault issued ``token`` (lets a response that echoes a genuine
        token marker through; see :mod:`haechi.detect.markers`). Without a vault file no
        token is known, and none is created."""
        if "vault" not in self.__dict__ and not os.path.exists(self.config.token_vault.path):
            return False
        return self.vault.store.get(token) is not None

    @cached_property
    def policies(self) -> PolicySet:
        return build_policy_set(self.config, self.known, bundle_policy=self._bundle_policy())

    def _bundle_policy(self) -> Mapping[str, Any] | None:
        bundle_path = self.config.policy.bundle_path
        if bundle_path is None:
            return None
        from haechi.crypto.bundle import verify_policy_bundle
        from haechi.jsonfile import read_json_file

        return verify_policy_bundle(read_json_file(bundle_path, "policy bundle"),
                                    self.crypto)["policy"]

    @cached_property
    def audit(self) -> Any:
        sink_cls = self.registries.audit_sinks[self.config.audit.sink]
        return sink_cls.from_config(self.config, pm=self.pm)

    @cached_property
    def crypto(self) -> Any:
        provider = self.config.keys.provider
        key_file = Path(self.config.keys.key_file)
        if provider == "local" and not key_file.exists():
            raise HaechiError(
                f"Key file not found: {key_file}. Run 'haechi init' to create it."
            )
        return self.registries.crypto_providers[provider].from_config(self.config)

    @cached_property
    def vault(self) -> Any:
        from haechi.vault import TokenVault

        store_cls = self.registries.token_stores[self.config.token_vault.provider]
        tv = self.config.token_vault
        return TokenVault(
            store_cls.from_config(self.config),
            self.crypto,
            retention_days=tv.retention_days,
            deterministic=tv.deterministic,
            deterministic_types=tv.deterministic_types,
            reveal_policy=tv.reveal_policy,
            audit=self.audit.record,
        )

    @cached_property
    def protector(self) -> Protector:
        from haechi.services import RuntimeActionServices

        actions = {name: cls() for name, cls in self.registries.actions.items()}
        allowlist = tuple((e.value, e.path) for e in self.config.filters.allowlist)
        return Protector(
            engine=self.engine,
            actions=actions,
            audit=self.audit,
            services=lambda context: RuntimeActionServices(self, context),
            allowlist=allowlist,
            min_confidence=self.config.filters.min_confidence,
            max_depth=self.config.limits.max_nesting_depth,
        )

    # -- helpers --------------------------------------------------------------------------

    def cli_context(self, operation: str) -> ProtectContext:
        return ProtectContext(
            protocol=self.config.target.type,
            operation=operation,
            direction="request",
            mode=self.config.effective_mode,
        )


def default_runtime(pm: HaechiPluginManager | None = None) -> Runtime:
    """A runtime on the built-in defaults, for offline commands run without a config file
    (``haechi scan``). The environment overlay does not apply."""
    return Runtime._build(pm, lambda known, sections: config_from_dict(
        {}, env={}, known=known, extra_sections=sections,
    ))
