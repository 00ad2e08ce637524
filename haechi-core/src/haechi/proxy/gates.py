"""The checks made before a request body is read: authentication and rate limiting.

Both are registries of named classes (``haechi_register_authenticators``,
``haechi_register_rate_limiters``). Their methods may be sync or async; a result is
always awaited when it is awaitable, and any exception denies (never mix pluggy's
``firstresult`` with coroutines: the component is called directly).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import attrs

from haechi.errors import HaechiError

__all__ = [
    "DEFAULT_RATE_LIMITER",
    "RATE_WINDOW_MS",
    "AuthOutcome",
    "authenticate",
    "build_authenticator",
    "build_rate_limiter",
    "rate_allowed",
]

#: The rate limiter used when a policy sets ``rate`` (the in-memory one of the auth issue).
DEFAULT_RATE_LIMITER = "memory"
#: ``policy.rate.requestsPerMinute`` counts requests in a fixed 60-second window.
RATE_WINDOW_MS = 60_000


@attrs.frozen
class AuthOutcome:
    """``identity`` when admitted; otherwise ``reason``: ``no_token``, ``invalid_token``
    or ``provider_error``."""

    identity: Mapping[str, Any] | None
    reason: str | None = None

    @property
    def denied(self) -> bool:
        return self.reason is not None


def build_authenticator(provider: str, registry: Mapping[str, type], runtime: Any) -> Any:
    """The authenticator for ``auth.provider`` (None for ``none``). A class with a
    ``from_runtime(runtime)`` classmethod gets the runtime (keys, stores); otherwise it
    is constructed with no arguments."""
    if provider == "none":
        return None
    cls = registry.get(provider)
    if cls is None:
        raise HaechiError(f"auth.provider {provider!r} has no registered authenticator.")
    factory = getattr(cls, "from_runtime", None)
    return factory(runtime) if factory is not None else cls()


def build_rate_limiter(needed: bool, registry: Mapping[str, type], runtime: Any) -> Any:
    """The rate limiter, when some policy sets ``rate``. Fails closed at start-up when a
    rate is configured but no limiter is registered under :data:`DEFAULT_RATE_LIMITER`."""
    if not needed:
        return None
    cls = registry.get(DEFAULT_RATE_LIMITER)
    if cls is None:
        raise HaechiError(
            f"policy.rate is set but no rate limiter named {DEFAULT_RATE_LIMITER!r} is "
            "registered; install or enable the plugin that provides it."
        )
    factory = getattr(cls, "from_runtime", None)
    return factory(runtime) if factory is not None else cls()


async def authenticate(authenticator: Any, request: Any) -> AuthOutcome:
    """Run the authenticator on the request (headers only: the body is not read yet)."""
    if authenticator is None:
        return AuthOutcome(None)
    try:
        identity = await _resolved(authenticator.authenticate(request))
    except Exception:
        return AuthOutcome(None, "provider_error")
    if identity is None:
        has_credential = "Authorization" in request.headers
        return AuthOutcome(None, "invalid_token" if has_credential else "no_token")
    return AuthOutcome(identity)


async def rate_allowed(limiter: Any, identity: Mapping[str, Any] | None, limit: int) -> bool:
    """Whether one more request fits the client's window; an error denies."""
    key = str(identity.get("id")) if identity and identity.get("id") else "anonymous"
    try:
        return bool(await _resolved(limiter.allow(key, limit, RATE_WINDOW_MS)))
    except Exception:
        return False


async def _resolved(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
