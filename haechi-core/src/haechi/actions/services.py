"""What an action may use while it rewrites a span: the token vault and the crypto
provider, bound to the context of the current protect call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["ActionServices"]


class ActionServices(Protocol):
    """Provided by the pipeline for one protect call.

    ``context`` is the protect context (protocol, operation, direction, mode, and in the
    proxy route and identity fields); it is bound into every envelope's AAD.
    """

    context: Mapping[str, Any]

    def tokenize(self, value: str, type: str, path_text: str, rule_id: str) -> str | None:
        """Issue (or reuse) a vault token for ``value``; None when no vault is configured."""

    def encrypt(self, value: str, aad: Mapping[str, Any]) -> dict[str, Any]:
        """Encrypt ``value`` under ``aad`` and return the envelope."""
