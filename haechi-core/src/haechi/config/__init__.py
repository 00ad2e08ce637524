"""Configuration: frozen models of ``haechi.config.json``, the strict loader, presets,
privacy profiles and effective policies.

Typical use::

    config = load_config("haechi.config.json", known=known_names)
    policies = build_policy_set(config, known_names)
    profile, policy = policies.resolve(identity.scopes, identity.labels)
    policy.action_for("email")
"""

from haechi.config.defaults import default_config_dict
from haechi.config.known import BUILTIN_DETECTOR_TYPES, KnownNames
from haechi.config.loader import config_from_dict, load_config, read_config_file
from haechi.config.models import HaechiConfig, Mode
from haechi.config.policy import (
    Policy,
    PolicySet,
    build_policy,
    build_policy_set,
    policy_from_bundle,
)
from haechi.config.presets import PRESETS, Preset
from haechi.config.profiles import PRIVACY_PROFILES, PrivacyProfile

__all__ = [
    "BUILTIN_DETECTOR_TYPES",
    "PRESETS",
    "PRIVACY_PROFILES",
    "HaechiConfig",
    "KnownNames",
    "Mode",
    "Policy",
    "PolicySet",
    "Preset",
    "PrivacyProfile",
    "build_policy",
    "build_policy_set",
    "config_from_dict",
    "default_config_dict",
    "load_config",
    "policy_from_bundle",
    "read_config_file",
]
