"""The proxy's part of ``haechi status``: where it would listen and what it would do.

It extends the reference's ``proxy`` object (``host``, ``port``, ``tls``,
``trustForwardedProto``) with the bind and limit facts an operator checks first. TLS is
shown by file path only: key material and passphrases are never printed (the reference
printed the loaded buffers, quirk 11).
"""

from __future__ import annotations

from typing import Any

from haechi.proxy.bind import is_loopback_host

__all__ = ["proxy_status"]


def proxy_status(config: Any) -> dict[str, Any]:
    """A JSON-ready summary of the proxy settings (no key material, no passphrase)."""
    proxy, limits, tls = config.proxy, config.limits, config.proxy.tls
    return {
        "host": proxy.host,
        "port": proxy.port,
        "tls": None if tls is None else {
            name: path
            for name, path in (("keyFile", tls.key_file), ("certFile", tls.cert_file),
                               ("pfxFile", tls.pfx_file))
            if path is not None
        },
        "trustForwardedProto": proxy.trust_forwarded_proto,
        "loopback": is_loopback_host(proxy.host),
        "authProvider": config.auth.provider,
        "maxRequestBytes": limits.max_request_bytes,
        "maxInFlight": limits.max_in_flight,
        "metrics": "/__haechi/metrics" if config.metrics.enabled else None,
    }
