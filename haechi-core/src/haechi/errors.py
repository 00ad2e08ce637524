"""Exception types. Every message is one sentence meant for the operator and never
contains a raw detected value."""

from __future__ import annotations

__all__ = [
    "AuditLockTimeout",
    "ConfigError",
    "CryptoError",
    "HaechiError",
    "NestingTooDeep",
    "PluginError",
    "PolicyError",
    "TokenVaultError",
]


class HaechiError(Exception):
    """Base class: a user-facing error printed as ``haechi: <message>`` with exit 1."""


class ConfigError(HaechiError):
    """The configuration is invalid. ``problems`` lists every problem found, one line each,
    each naming the exact key path (``$.policy.actions.card``)."""

    def __init__(self, problems: list[str] | tuple[str, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid configuration")


class PolicyError(HaechiError):
    """A policy could not be built or a policy bundle failed verification."""


class CryptoError(HaechiError):
    """Encryption, decryption or key handling failed."""


class TokenVaultError(HaechiError):
    """A token vault operation failed (unknown token, expired, reveal disabled, ...)."""


class AuditLockTimeout(HaechiError):
    """The audit log lock could not be taken in time."""


class PluginError(HaechiError):
    """A plugin could not be loaded (duplicate name, untrusted, misspelt hook, ...)."""


class NestingTooDeep(HaechiError):
    """A JSON document nests deeper than ``limits.maxNestingDepth``."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"Request JSON nesting exceeds limits.maxNestingDepth ({limit})")
