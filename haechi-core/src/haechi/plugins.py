"""The plugin manager: built-in plugins, entry-point plugins, and the registries.

Loading order: the built-in modules of ``DEFAULT_PLUGINS`` first, then every entry point
of the group ``haechi``. Entry points are iterated here rather than through pluggy's
``load_setuptools_entrypoints`` because that imports plugin code before anything could
check it: :class:`TrustGate` is consulted for each entry point *before* ``ep.load()``.
After loading, ``check_pending()`` makes a misspelt hook name fail start-up.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs
import pluggy

from haechi import hookspecs
from haechi.errors import PluginError

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "HaechiPluginManager",
    "PluginInfo",
    "Registries",
    "TrustGate",
    "create_plugin_manager",
    "describe_plugins",
]

ENTRY_POINT_GROUP = "haechi"

#: Modules of the core distribution that implement hooks. Built-in features are plugins.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "haechi.detect.builtin",
    "haechi.actions.builtin",
    "haechi.crypto.local",
    "haechi.vault.sqlite_store",
    "haechi.audit.chain",
    "haechi.adapters.openai",
    "haechi.adapters.ollama",
    "haechi.adapters.anthropic",
    "haechi.adapters.gemini",
    "haechi.cli.builtin",
)


class TrustGate:
    """Decides whether an entry-point plugin may be imported.

    It is called with the entry point and its distribution *before* the plugin's code is
    imported. This base gate admits every installed distribution: the signed-manifest and
    operator-allowlist checks of the plugin trust issue replace it. Raise
    :class:`PluginError` to refuse a plugin (start-up then stops).
    """

    def admit(self, entry_point: importlib.metadata.EntryPoint) -> None:
        return None


class HaechiPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which entry point each plugin came from."""

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self.entry_points: dict[str, importlib.metadata.EntryPoint] = {}


@attrs.frozen
class PluginInfo:
    """One loaded plugin as ``haechi plugins`` shows it."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool


def create_plugin_manager(
    *,
    load_entry_points: bool = True,
    extra_plugins: Iterable[object] = (),
    trust_gate: TrustGate | None = None,
) -> HaechiPluginManager:
    """Build the plugin manager: hookspecs, built-ins, entry points, extras; then
    ``check_pending()``."""
    pm = HaechiPluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        gate = trust_gate or TrustGate()
        for entry_point in _entry_points():
            if pm.has_plugin(entry_point.name):
                raise PluginError(
                    f"Plugin name {entry_point.name!r} is used by two entry points; "
                    "uninstall one of them"
                )
            gate.admit(entry_point)
            try:
                plugin = entry_point.load()
            except Exception as exc:  # the plugin's own import failed
                raise PluginError(
                    f"Plugin {entry_point.name!r} ({_dist_label(entry_point)}) failed to "
                    f"import: {type(exc).__name__}"
                ) from exc
            pm.register(plugin, name=entry_point.name)
            pm.entry_points[entry_point.name] = entry_point
    for plugin in extra_plugins:
        pm.register(plugin)
    pm.hook.haechi_addhooks(pluginmanager=pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"A plugin implements an unknown hook: {exc}") from exc
    return pm


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)


def _dist_label(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"


def _collect(pm: pluggy.PluginManager, hook_name: str, what: str) -> Mapping[str, type]:
    """Call one registry hook and return ``{NAME: class}``; a duplicate name is fatal."""
    found: dict[str, type] = {}

    def register(cls: type) -> None:
        name = getattr(cls, "NAME", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"{_qualname(cls)} registered as a {what} has no NAME string")
        if name in found and found[name] is not cls:
            raise PluginError(
                f"Duplicate {what} name {name!r}: registered by {_qualname(found[name])} "
                f"and {_qualname(cls)}"
            )
        found[name] = cls

    getattr(pm.hook, hook_name)(register=register)
    return MappingProxyType(dict(sorted(found.items())))


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@attrs.frozen
class Registries:
    """Every registry, collected once at start-up."""

    detectors: Mapping[str, type]
    actions: Mapping[str, type]
    protocol_adapters: Mapping[str, type]
    authenticators: Mapping[str, type]
    crypto_providers: Mapping[str, type]
    rate_limiters: Mapping[str, type]
    audit_sinks: Mapping[str, type]
    token_stores: Mapping[str, type]
    cli_commands: Mapping[str, type]
    config_sections: Mapping[str, type]

    @classmethod
    def collect(cls, pm: pluggy.PluginManager) -> Registries:
        return cls(
            detectors=_collect(pm, "haechi_register_detectors", "detector"),
            actions=_collect(pm, "haechi_register_actions", "action"),
            protocol_adapters=_collect_adapters(pm),
            authenticators=_collect(pm, "haechi_register_authenticators", "authenticator"),
            crypto_providers=_collect(pm, "haechi_register_crypto_providers", "crypto provider"),
            rate_limiters=_collect(pm, "haechi_register_rate_limiters", "rate limiter"),
            audit_sinks=_collect(pm, "haechi_register_audit_sinks", "audit sink"),
            token_stores=_collect(pm, "haechi_register_token_stores", "token store"),
            cli_commands=_collect(pm, "haechi_register_cli_commands", "CLI command"),
            config_sections=_collect(pm, "haechi_register_config_sections", "config section"),
        )


def _collect_adapters(pm: pluggy.PluginManager) -> Mapping[str, type]:
    """Adapters are also reachable by their ``ALIASES``; an alias may not shadow a name."""
    adapters = dict(_collect(pm, "haechi_register_protocol_adapters", "protocol adapter"))
    for cls in list(adapters.values()):
        for alias in getattr(cls, "ALIASES", ()):
            if alias in adapters and adapters[alias] is not cls:
                raise PluginError(
                    f"Duplicate protocol adapter name {alias!r}: registered by "
                    f"{_qualname(adapters[alias])} and {_qualname(cls)} (as an alias)"
                )
            adapters[alias] = cls
    return MappingProxyType(adapters)


def describe_plugins(pm: HaechiPluginManager) -> list[PluginInfo]:
    """What ``haechi plugins`` lists: every registered plugin with its distribution."""
    core = importlib.metadata.distribution("haechi")
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        entry_point = pm.entry_points.get(name)
        if entry_point is not None and entry_point.dist is not None:
            dist, version, builtin = entry_point.dist.name, entry_point.dist.version, False
        else:
            dist, version = core.metadata["Name"], core.version
            builtin = name in DEFAULT_PLUGINS
        infos.append(PluginInfo(name, dist, version, hooks, builtin))
    return infos
