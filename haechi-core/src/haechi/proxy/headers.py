"""Which headers cross the proxy (spec section 5).

Upstream, only an allowlist travels: a client's cookies, proxy credentials and hop-by-hop
headers never reach the model provider. ``authorization`` travels only when the proxy does
not authenticate clients itself (``auth.provider: none``); otherwise it carries the
client's Haechi credential, which the upstream must not see. Downstream, the hop-by-hop
and length headers are recomputed by the proxy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = [
    "ALWAYS_DROPPED_REQUEST_HEADERS",
    "UPSTREAM_HEADER_ALLOWLIST",
    "downstream_headers",
    "upstream_header_names",
    "upstream_headers",
]

UPSTREAM_HEADER_ALLOWLIST = frozenset({
    "x-api-key", "anthropic-version", "anthropic-beta", "x-goog-api-key",
    "openai-organization", "openai-beta", "accept", "user-agent", "accept-language",
})

ALWAYS_DROPPED_REQUEST_HEADERS = frozenset({
    "host", "content-length", "cookie", "set-cookie", "proxy-authorization", "connection",
    "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
})

#: Stripped from every response the proxy sends on.
_HOP_RESPONSE_HEADERS = frozenset({
    "content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive",
    "te", "trailer", "upgrade", "proxy-authenticate",
})

#: Also stripped when the body was rewritten: they describe the upstream's bytes.
_BODY_DIGEST_HEADERS = frozenset({"etag", "content-md5", "digest", "last-modified"})


def upstream_header_names(forward_headers: Iterable[str] = (), *,
                          forward_authorization: bool) -> frozenset[str]:
    """The lower-case names of the client headers that may go upstream (computed once per
    app: the allowlist, ``target.forwardHeaders`` and maybe ``authorization``, minus the
    always-dropped ones)."""
    allowed = UPSTREAM_HEADER_ALLOWLIST | {name.lower() for name in forward_headers}
    if forward_authorization:
        allowed |= {"authorization"}
    return allowed - ALWAYS_DROPPED_REQUEST_HEADERS


def upstream_headers(client_headers: Mapping[str, str],
                     allowed: frozenset[str]) -> CIMultiDict[str]:
    """The headers sent upstream for one request; ``allowed`` comes from
    :func:`upstream_header_names`."""
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in client_headers.items():
        if name.lower() in allowed:
            out.add(name, value)
    out["Content-Type"] = "application/json"
    # The proxy must see bodies uncompressed to inspect them.
    out["Accept-Encoding"] = "identity"
    return out


def downstream_headers(
    upstream: CIMultiDictProxy[str] | Mapping[str, str], *, rewritten: bool
) -> CIMultiDict[str]:
    """The upstream response headers passed to the client. With ``rewritten`` the body is
    the proxy's own JSON: the content type is set and the digest headers go."""
    dropped = _HOP_RESPONSE_HEADERS | (_BODY_DIGEST_HEADERS if rewritten else frozenset())
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream.items():
        if name.lower() not in dropped:
            out.add(name, value)
    if rewritten:
        out["Content-Type"] = "application/json"
        out["Cache-Control"] = "no-store"
    return out
