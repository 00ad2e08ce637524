"""Constraint markers attached to config field types with ``typing.Annotated``.

A field typed ``PortNumber`` (``Annotated[int, Between(0, 65535)]``) is checked by the
strict converter while it is structured, so a bad value is reported with its exact key
path in the same pass as type errors and unknown keys. The markers only *describe* a
constraint; :mod:`haechi.config.converter` applies them.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

import attrs

__all__ = [
    "ActionName",
    "AdapterName",
    "AdapterOrAlias",
    "AuditSinkName",
    "AuthenticatorName",
    "Between",
    "CryptoProviderName",
    "Fraction",
    "HeaderName",
    "HttpUrl",
    "HttpUrlMarker",
    "KnownName",
    "KnownNameCategory",
    "Lowercase",
    "NonEmpty",
    "NonEmptyStr",
    "NonNegativeInt",
    "PortNumber",
    "PositiveInt",
    "PresetName",
    "TokenStoreName",
    "check_http_url",
]

KnownNameCategory = Literal[
    "action",
    "preset",
    "adapter",
    "adapter_or_alias",
    "authenticator",
    "crypto_provider",
    "audit_sink",
    "token_store",
]


@attrs.frozen
class Between:
    """A number within ``[low, high]`` (either bound may be open-ended)."""

    low: float | None
    high: float | None
    description: str


@attrs.frozen
class NonEmpty:
    """A string or list with at least one element (strings: at least one character)."""


@attrs.frozen
class Lowercase:
    """A string with no uppercase letters."""


@attrs.frozen
class HttpUrlMarker:
    """An absolute ``http``/``https`` URL with a host."""


@attrs.frozen
class KnownName:
    """A name that must be registered in :class:`haechi.config.known.KnownNames`."""

    category: KnownNameCategory


def check_http_url(text: str) -> str | None:
    """Return why ``text`` is not an absolute http(s) URL with a host, or None if it is."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "expected an http:// or https:// URL with a host (it could not be parsed)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected an http:// or https:// URL with a host"
    return None


PositiveInt = Annotated[int, Between(1, None, "an integer of at least 1")]
NonNegativeInt = Annotated[int, Between(0, None, "an integer of at least 0")]
PortNumber = Annotated[int, Between(0, 65535, "an integer from 0 to 65535")]
Fraction = Annotated[float, Between(0, 1, "a number from 0 to 1")]
NonEmptyStr = Annotated[str, NonEmpty()]
HeaderName = Annotated[str, NonEmpty(), Lowercase()]
HttpUrl = Annotated[str, HttpUrlMarker()]
ActionName = Annotated[str, KnownName("action")]
PresetName = Annotated[str, KnownName("preset")]
AdapterName = Annotated[str, KnownName("adapter")]
AdapterOrAlias = Annotated[str, KnownName("adapter_or_alias")]
AuthenticatorName = Annotated[str, KnownName("authenticator")]
CryptoProviderName = Annotated[str, KnownName("crypto_provider")]
AuditSinkName = Annotated[str, KnownName("audit_sink")]
TokenStoreName = Annotated[str, KnownName("token_store")]
