"""The six built-in actions of the reference: allow, redact, mask, tokenize, encrypt, block.

Output formats are part of the compatibility contract (spec §4)."""

from __future__ import annotations

import json

from haechi.actions.services import ActionServices
from haechi.canonical import b64url_encode, short_hash
from haechi.findings import Finding
from haechi.hookspecs import hookimpl

__all__ = [
    "AllowAction",
    "BlockAction",
    "EncryptAction",
    "MaskAction",
    "RedactAction",
    "TokenizeAction",
    "mask_text",
]


class AllowAction:
    """Detected and audited, never changed."""

    NAME = "allow"
    STRENGTH = 0
    BLOCKS = False

    def replacement(self, finding: Finding, services: ActionServices) -> str | None:
        return None


class RedactAction:
    NAME = "redact"
    STRENGTH = 1
    BLOCKS = False

    def replacement(self, finding: Finding, services: ActionServices) -> str | None:
        return f"[REDACTED:{finding.type}]"


def mask_text(value: str) -> str:
    """Up to 8 characters: all stars. Longer: keep the first and last two characters and
    put ``max(4, len - 4)`` stars between them (``010-1234-5678`` -> ``01*********78``)."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:2] + "*" * max(4, len(value) - 4) + value[-2:]


class MaskAction:
    NAME = "mask"
    STRENGTH = 1
    BLOCKS = False

    def replacement(self, finding: Finding, services: ActionServices) -> str | None:
        return mask_text(finding.value)


class TokenizeAction:
    """A vault token (reversible by the vault), or a keyless short hash without a vault."""

    NAME = "tokenize"
    STRENGTH = 2
    BLOCKS = False

    def replacement(self, finding: Finding, services: ActionServices) -> str | None:
        token = services.tokenize(finding.value, finding.type, finding.path_text, finding.rule_id)
        if token is None:
            return f"[TOKEN:{finding.type}:{short_hash(finding.value)}]"
        return f"[TOKEN:{token}]"


class EncryptAction:
    """An AES-256-GCM envelope bound to the context, path, type and rule of the span."""

    NAME = "encrypt"
    STRENGTH = 2
    BLOCKS = False

    def replacement(self, finding: Finding, services: ActionServices) -> str | None:
        aad = {
            "context": dict(services.context),
            "path": finding.path_text,
            "type": finding.type,
            "ruleId": finding.rule_id,
        }
        envelope = services.encrypt(finding.value, aad)
        encoded = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        return f"[HAECHI_ENC:{b64url_encode(encoded.encode('utf-8'))}]"


class BlockAction:
    """The whole payload is refused; no transform runs."""

    NAME = "block"
    STRENGTH = 3
    BLOCKS = True

    def replacement(self, finding: Finding, services: ActionServices) -> str | None:
        raise AssertionError("a blocking action never transforms")


BUILTIN_ACTIONS = (
    AllowAction, RedactAction, MaskAction, TokenizeAction, EncryptAction, BlockAction,
)


@hookimpl
def haechi_register_actions(register):
    for action in BUILTIN_ACTIONS:
        register(action)
