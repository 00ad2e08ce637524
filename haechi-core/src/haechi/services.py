"""The :class:`~haechi.actions.ActionServices` of one protect call, backed by a runtime's
token vault and crypto provider (both created on first use)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from haechi.pipeline import ProtectContext

if TYPE_CHECKING:
    from haechi.runtime import Runtime

__all__ = ["RuntimeActionServices"]


class RuntimeActionServices:
    """Binds actions to one context. With ``scope`` (a request-scoped token scope of the
    vault), every issued or reused token is remembered for response detokenization."""

    def __init__(self, runtime: Runtime, context: ProtectContext, scope: Any = None) -> None:
        self._runtime = runtime
        self.context: Mapping[str, Any] = context.as_aad()
        self._scope = scope

    def tokenize(self, value: str, type: str, path_text: str, rule_id: str) -> str | None:
        issuer = self._scope if self._scope is not None else self._runtime.vault
        issue = issuer.tokenize(value, type, path_text=path_text, rule_id=rule_id,
                                context=self.context)
        return issue.token

    def encrypt(self, value: str, aad: Mapping[str, Any]) -> dict[str, Any]:
        return self._runtime.crypto.encrypt(value.encode("utf-8"), aad)
