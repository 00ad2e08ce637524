"""Effective policies: presets, explicit actions and the privacy profile merged (spec
section 4), per-client profiles (section 9) and signed-bundle policies.

Merge rules, in order:

1. Presets in the order listed, then ``policy.defaultAction`` / ``policy.actions``. A new
   action replaces the current one when it is at least as strong (equal strength: the
   later wins). A weaker one is a conflict, ``Policy action conflict for T: <source>
   cannot weaken X to Y``; with ``allowUnsafeOverrides`` the stronger action is kept
   silently instead (quirk 7, kept).
2. ``defaultAction`` follows the same rule (quirk 8 fixed): a preset's default can never
   silently replace a stronger explicit one, and an explicit one cannot weaken a preset's.
3. The privacy profile only strengthens: it sets a type whose current action (or, when
   none is set, the default action) it beats strictly, or matches in strength when
   ``policy.actions`` does not name the type. It never weakens, not even the default
   action of ``strict-block``, and it never causes a conflict.
4. ``injection`` is ``allow`` unless ``policy.actions`` names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from haechi.config.converter import (
    STRUCTURE_ERRORS,
    build_converter,
    describe_problems,
    key_path,
)
from haechi.config.known import KnownNames
from haechi.config.models import HaechiConfig, PolicyConfig, PolicyProfileConfig
from haechi.config.presets import PRESETS
from haechi.config.profiles import PRIVACY_PROFILES
from haechi.errors import ConfigError, PolicyError

__all__ = [
    "DEFAULT_ACTIONS",
    "Policy",
    "PolicyConflict",
    "PolicySet",
    "build_policy",
    "build_policy_set",
    "policy_from_bundle",
    "policy_problems",
    "with_default_actions",
]

#: ``policy.actions`` in a file is merged key by key over these.
DEFAULT_ACTIONS: Mapping[str, str] = MappingProxyType({"card": "block"})

_FALLBACK_DEFAULT_ACTION = "redact"


@attrs.frozen
class Policy:
    """What to do with each detected type."""

    default_action: str
    actions: Mapping[str, str]
    model_allowlist: tuple[str, ...] | None = None
    rate_per_minute: int | None = None

    def action_for(self, detected_type: str) -> str:
        return self.actions.get(detected_type, self.default_action)


@attrs.frozen
class PolicyConflict:
    """A weakening merge: ``path`` is the config key that asked for the weaker action."""

    path: str
    message: str


def with_default_actions(raw_policy: Any) -> Any:
    """Merge a raw ``policy`` object's ``actions`` key by key over :data:`DEFAULT_ACTIONS`
    (anything that is not an object is returned unchanged, for the converter to reject)."""
    if isinstance(raw_policy, dict) and isinstance(raw_policy.get("actions"), dict):
        return {**raw_policy, "actions": {**DEFAULT_ACTIONS, **raw_policy["actions"]}}
    return raw_policy


# --------------------------------------------------------------------------------------
# merging
# --------------------------------------------------------------------------------------


@attrs.define
class _Merge:
    known: KnownNames
    allow_unsafe: bool
    conflicts: list[PolicyConflict] = attrs.field(factory=list)

    def stronger_or_equal(
        self, current: str | None, new: str, *, what: str, source: str, path: str
    ) -> str:
        if current is None or self.known.strength(new) >= self.known.strength(current):
            return new
        if not self.allow_unsafe:
            self.conflicts.append(
                PolicyConflict(
                    path,
                    f"Policy action conflict for {what}: {source} cannot weaken {current} to {new}",
                )
            )
        return current


def _merge_actions(
    policy: PolicyConfig,
    *,
    privacy_profile: str | None,
    known: KnownNames,
    paths: _Paths,
) -> tuple[str, dict[str, str], list[PolicyConflict]]:
    merge = _Merge(known, policy.allow_unsafe_overrides)
    default_action: str | None = None
    actions: dict[str, str] = {}
    for index, name in enumerate(policy.presets):
        preset = PRESETS[name]
        source, path = f"preset {name}", paths.preset(index)
        if preset.default_action is not None:
            default_action = merge.stronger_or_equal(
                default_action,
                preset.default_action,
                what="defaultAction",
                source=source,
                path=path,
            )
        for detected_type, action in preset.actions.items():
            actions[detected_type] = merge.stronger_or_equal(
                actions.get(detected_type), action, what=detected_type, source=source, path=path
            )
    if policy.default_action is not None:
        path = paths.default_action()
        default_action = merge.stronger_or_equal(
            default_action, policy.default_action, what="defaultAction", source=path[2:], path=path
        )
    for detected_type, action in policy.actions.items():
        source = paths.actions(detected_type)
        actions[detected_type] = merge.stronger_or_equal(
            actions.get(detected_type),
            action,
            what=detected_type,
            source=source[2:],
            path=key_path(source, detected_type),
        )
    default_action = default_action or _FALLBACK_DEFAULT_ACTION
    if privacy_profile is not None:
        for detected_type, action in PRIVACY_PROFILES[privacy_profile].actions.items():
            current = actions.get(detected_type, default_action)
            explicit = detected_type in policy.actions
            if known.strength(action) > known.strength(current) or (
                not explicit and known.strength(action) == known.strength(current)
            ):
                actions[detected_type] = action
    if "injection" not in policy.actions:
        actions["injection"] = "allow"
    return default_action, actions, merge.conflicts


@attrs.frozen
class _Paths:
    """Where the keys of a (possibly profile-merged) policy live in the config file."""

    root: str = "$.policy"
    profile_root: str | None = None
    profile: PolicyProfileConfig | None = None

    def _owner(self, overridden: bool) -> str:
        return self.profile_root if overridden and self.profile_root else self.root

    def preset(self, index: int) -> str:
        overridden = self.profile is not None and self.profile.presets is not None
        return f"{self._owner(overridden)}.presets[{index}]"

    def default_action(self) -> str:
        overridden = self.profile is not None and self.profile.default_action is not None
        return f"{self._owner(overridden)}.defaultAction"

    def actions(self, detected_type: str) -> str:
        """The ``actions`` object that set ``detected_type``."""
        overridden = (
            self.profile is not None
            and self.profile.actions is not None
            and detected_type in self.profile.actions
        )
        return f"{self._owner(overridden)}.actions"


def build_policy(
    policy: PolicyConfig, *, known: KnownNames, privacy_profile: str | None = None
) -> Policy:
    """The effective :class:`Policy` of a policy section; raises :class:`PolicyError` on
    the first weakening conflict (the loader reports all of them as config problems)."""
    return _build(policy, known=known, privacy_profile=privacy_profile, paths=_Paths())


def _build(
    policy: PolicyConfig, *, known: KnownNames, privacy_profile: str | None, paths: _Paths
) -> Policy:
    default_action, actions, conflicts = _merge_actions(
        policy, privacy_profile=privacy_profile, known=known, paths=paths
    )
    if conflicts:
        raise PolicyError(conflicts[0].message)
    return Policy(
        default_action=default_action,
        actions=MappingProxyType(actions),
        model_allowlist=policy.model_allowlist,
        rate_per_minute=None if policy.rate is None else policy.rate.requests_per_minute,
    )


def _apply_profile(base: PolicyConfig, profile: PolicyProfileConfig) -> PolicyConfig:
    """The base policy with a named profile's overrides (actions merged key by key)."""

    def pick(own: Any, inherited: Any) -> Any:
        return inherited if own is None else own

    return attrs.evolve(
        base,
        presets=pick(profile.presets, base.presets),
        default_action=pick(profile.default_action, base.default_action),
        actions=MappingProxyType({**base.actions, **(profile.actions or {})}),
        allow_unsafe_overrides=pick(profile.allow_unsafe_overrides, base.allow_unsafe_overrides),
        model_allowlist=pick(profile.model_allowlist, base.model_allowlist),
        rate=pick(profile.rate, base.rate),
    )


def _profile_paths(name: str, profile: PolicyProfileConfig) -> _Paths:
    return _Paths(profile_root=key_path("$.policy.profiles", name), profile=profile)


# --------------------------------------------------------------------------------------
# profiles
# --------------------------------------------------------------------------------------


@attrs.frozen
class PolicySet:
    """The base policy plus the named profiles and the binding that picks one per client."""

    base: Policy
    profiles: Mapping[str, Policy] = MappingProxyType({})
    by_scope: Mapping[str, str] = MappingProxyType({})
    by_label: Mapping[str, str] = MappingProxyType({})
    default_profile: str | None = None

    def resolve(
        self, scopes: Sequence[str], labels: Mapping[str, str]
    ) -> tuple[str | None, Policy]:
        """The profile for a client: its scopes in order, then its labels (``"k=v"``),
        then the binding's default. Without a binding: ``(None, base)``."""
        if self.default_profile is None:
            return None, self.base
        for scope in scopes:
            if scope in self.by_scope:
                return self._named(self.by_scope[scope])
        for label_key, label_value in labels.items():
            binding_key = f"{label_key}={label_value}"
            if binding_key in self.by_label:
                return self._named(self.by_label[binding_key])
        return self._named(self.default_profile)

    def _named(self, name: str) -> tuple[str, Policy]:
        return name, self.profiles[name]


def build_policy_set(
    config: HaechiConfig, known: KnownNames, *, bundle_policy: Any | None = None
) -> PolicySet:
    """The :class:`PolicySet` of a validated config. ``bundle_policy``, the ``policy``
    object of a verified signed bundle, replaces the inline policy first (see
    :func:`policy_from_bundle`; its problems raise :class:`ConfigError`)."""
    if bundle_policy is not None:
        config = policy_from_bundle(bundle_policy, config, known)
    policy = config.policy
    privacy_profile = config.privacy.profile
    base = _build(policy, known=known, privacy_profile=privacy_profile, paths=_Paths())
    binding = policy.profile_binding
    if binding is None:
        return PolicySet(base)
    profiles = {
        name: _build(
            _apply_profile(policy, profile),
            known=known,
            privacy_profile=privacy_profile,
            paths=_profile_paths(name, profile),
        )
        for name, profile in (policy.profiles or {}).items()
    }
    return PolicySet(
        base,
        MappingProxyType(profiles),
        binding.by_scope or MappingProxyType({}),
        binding.by_label or MappingProxyType({}),
        binding.default,
    )


# --------------------------------------------------------------------------------------
# validation of the policy section
# --------------------------------------------------------------------------------------


def _action_key_problems(
    actions: Mapping[str, str] | None, root: str, known_types: frozenset[str]
) -> list[str]:
    return [
        f"{key_path(f'{root}.actions', detected_type)}: unknown detector type "
        "(expected a built-in type or the type of a filters.customRules entry)"
        for detected_type in (actions or {})
        if detected_type not in known_types
    ]


def _binding_problems(policy: PolicyConfig) -> list[str]:
    profiles = policy.profiles or {}
    binding = policy.profile_binding
    if binding is None:
        if profiles:
            return ["$.policy.profileBinding: required when policy.profiles is set"]
        return []
    root = "$.policy.profileBinding"
    targets = [(f"{root}.default", binding.default)]
    targets += [(key_path(f"{root}.byScope", k), v) for k, v in (binding.by_scope or {}).items()]
    targets += [(key_path(f"{root}.byLabel", k), v) for k, v in (binding.by_label or {}).items()]
    problems = [
        f"{path}: names no profile declared in policy.profiles"
        for path, target in targets
        if target not in profiles
    ]
    problems += [
        f'{key_path(f"{root}.byLabel", label)}: expected a "key=value" label'
        for label in (binding.by_label or {})
        if label.count("=") != 1 or label.startswith("=") or label.endswith("=")
    ]
    return problems


def policy_problems(config: HaechiConfig, known: KnownNames, *, prefix: str = "") -> list[str]:
    """Every policy problem the converter cannot see: action keys that name no detector
    type, profile binding targets, and weakening conflicts in the base policy and in
    every named profile. ``prefix`` is put before each line (``"bundle:"``)."""
    policy = config.policy
    known_types = known.detector_types | {rule.type for rule in config.filters.custom_rules}
    problems = _action_key_problems(policy.actions, "$.policy", known_types)
    for name, profile in (policy.profiles or {}).items():
        problems += _action_key_problems(
            profile.actions, key_path("$.policy.profiles", name), known_types
        )
    problems += _binding_problems(policy)
    privacy_profile = config.privacy.profile
    _, _, conflicts = _merge_actions(
        policy, privacy_profile=privacy_profile, known=known, paths=_Paths()
    )
    for name, profile in (policy.profiles or {}).items():
        conflicts += _merge_actions(
            _apply_profile(policy, profile),
            privacy_profile=privacy_profile,
            known=known,
            paths=_profile_paths(name, profile),
        )[2]
    problems += [f"{conflict.path}: {conflict.message}" for conflict in conflicts]
    # A profile inherits the base policy's conflicts; report each once.
    return [prefix + problem for problem in dict.fromkeys(problems)]


# --------------------------------------------------------------------------------------
# signed bundles
# --------------------------------------------------------------------------------------


def policy_from_bundle(bundle_policy: Any, config: HaechiConfig, known: KnownNames) -> HaechiConfig:
    """``config`` with its policy replaced by a verified bundle's ``policy`` object.

    The inline ``policy.mode`` and ``policy.bundlePath`` are kept. The bundle's policy
    is checked by the same converter and rules as an inline one; every problem is
    reported at once, each line prefixed ``bundle:`` (``bundle:$.policy.actions.card``).
    Verifying the bundle's signature is the caller's job (:mod:`haechi.crypto`).
    """
    converter = build_converter(known)
    try:
        policy = converter.structure(with_default_actions(bundle_policy), PolicyConfig)
    except STRUCTURE_ERRORS as exc:
        raise ConfigError(
            ["bundle:" + line for line in describe_problems(exc, "$.policy")]
        ) from None
    replaced = attrs.evolve(
        config,
        policy=attrs.evolve(policy, mode=config.policy.mode, bundle_path=config.policy.bundle_path),
    )
    problems = policy_problems(replaced, known, prefix="bundle:")
    if problems:
        raise ConfigError(problems)
    return replaced
