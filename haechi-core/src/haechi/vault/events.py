"""Token-vault audit events (kind D of §7). They carry token ids, counts and decisions,
never a plaintext; the audit sink adds the hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from haechi.audit.events import new_event_id
from haechi.isotime import to_iso

__all__ = ["VaultDecision", "VaultOperation", "vault_event"]

VaultOperation = Literal[
    "token-vault:reveal", "token-vault:detokenize", "token-vault:purge", "token-vault:purge-expired"
]
VaultDecision = Literal[
    "reveal_denied", "reveal_allowed", "reveal_failed", "detokenize", "purge", "purge_expired"
]


def vault_event(
    operation: VaultOperation,
    decision: VaultDecision,
    *,
    at: datetime,
    reveal_policy: str,
    token: str | None = None,
    token_type: str | None = None,
    reason: str | None = None,
    count: int | None = None,
) -> dict[str, Any]:
    """A kind-D event. ``token`` must already be audit-safe
    (:func:`haechi.vault.tokens.audit_safe_token`)."""
    return {
        "id": new_event_id(),
        "timestamp": to_iso(at),
        "protocol": "token-vault",
        "operation": operation,
        "identity": None,
        "mode": "n/a",
        "enforced": True,
        "blocked": decision.endswith("_denied"),
        "decision": decision,
        "reason": reason,
        "token": token,
        "tokenType": token_type,
        "count": count,
        "revealPolicy": reveal_policy,
        "summary": {"detectionCount": 0, "byType": {}, "byAction": {decision: 1}},
    }
