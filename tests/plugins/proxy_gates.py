"""Test-only authenticator and rate limiter plugins for the proxy's auth/rate seams.

``test-header`` admits a request whose ``X-Test-Identity`` header names one of
:data:`IDENTITIES`, returns None without that header, and raises for ``boom``.
``memory`` (the limiter name the proxy uses) counts per key, ignoring time.
"""

from __future__ import annotations

import asyncio

from haechi import hookimpl

IDENTITIES = {
    "alice": {"id": "tok_auth_alice", "type": "user", "subjectHash": "s1", "issuerHash": "i1",
              "provider": "test-header", "scopes": ["strict"], "labels": {"team": "red"}},
    "bob": {"id": "tok_auth_bob", "type": "service", "subjectHash": "s2", "issuerHash": "i2",
            "provider": "test-header", "scopes": [], "labels": {}},
}


class HeaderAuthenticator:
    NAME = "test-header"

    async def authenticate(self, request):
        await asyncio.sleep(0)
        name = request.headers.get("X-Test-Identity")
        if name == "boom":
            raise RuntimeError("provider exploded")
        return IDENTITIES.get(name) if name else None


class CountingRateLimiter:
    NAME = "memory"

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def allow(self, key: str, limit: int, window_ms: int) -> bool:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key] <= limit


@hookimpl
def haechi_register_authenticators(register):
    register(HeaderAuthenticator)


@hookimpl
def haechi_register_rate_limiters(register):
    register(CountingRateLimiter)
