"""Where the proxy may listen, and with which TLS material (spec section 5).

Loopback is the default. Any other address needs ``--allow-remote-bind`` *and* either TLS
served by the proxy or ``proxy.trustForwardedProto`` (a TLS-terminating front that sets
``X-Forwarded-Proto: https``, which every request must then carry).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from collections.abc import Mapping

from haechi.config.models import TlsConfig
from haechi.errors import HaechiError

__all__ = ["check_bind", "forwarded_proto_is_https", "is_loopback_host", "ssl_context_for"]


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(candidate).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote_bind: bool, tls: bool,
               trust_forwarded_proto: bool) -> bool:
    """Refuse an unsafe bind. Returns whether ``X-Forwarded-Proto: https`` must be required
    (a remote plain-http bind behind a trusted TLS front)."""
    if is_loopback_host(host):
        return False
    if not allow_remote_bind:
        raise HaechiError(
            f"Refusing to bind Haechi proxy to non-loopback host {host}. "
            "Use --allow-remote-bind only for explicitly secured environments."
        )
    if tls:
        return False
    if not trust_forwarded_proto:
        raise HaechiError(
            f"Refusing to bind Haechi proxy to non-loopback host {host} without TLS. "
            "Configure proxy.tls, or set proxy.trustForwardedProto behind a TLS-terminating "
            "front."
        )
    return True


def forwarded_proto_is_https(headers: Mapping[str, str]) -> bool:
    """The first comma-separated value of ``X-Forwarded-Proto`` is ``https``."""
    value = headers.get("X-Forwarded-Proto", "")
    return value.split(",", 1)[0].strip().lower() == "https"


def ssl_context_for(tls: TlsConfig | None) -> ssl.SSLContext | None:
    """A server TLS context from ``proxy.tls`` (PEM pair or PKCS#12), or None."""
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if tls.pfx_file is not None:
        _load_pkcs12(context, tls.pfx_file, tls.passphrase)
        return context
    if tls.key_file is None or tls.cert_file is None:
        raise HaechiError("proxy.tls needs both keyFile and certFile (or pfxFile).")
    for key, path in (("proxy.tls.certFile", tls.cert_file), ("proxy.tls.keyFile", tls.key_file)):
        if not os.access(path, os.R_OK):
            raise HaechiError(f"{key} could not be read: {path}")
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except (ssl.SSLError, ValueError) as exc:
        raise HaechiError(
            "proxy.tls keyFile/certFile are not a usable key and certificate "
            f"({type(exc).__name__})."
        ) from None
    return context


def _load_pkcs12(context: ssl.SSLContext, pfx_file: str, passphrase: str | None) -> None:
    """The ``ssl`` module loads key material from files only: the PKCS#12 content is
    written as PEM to a private temporary directory, loaded, and removed at once."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        pkcs12,
    )

    try:
        with open(pfx_file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise HaechiError(f"proxy.tls.pfxFile could not be read: {exc.strerror}") from None
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(
            data, passphrase.encode("utf-8") if passphrase else None)
    except ValueError:
        raise HaechiError("proxy.tls.pfxFile is not usable PKCS#12 material (or the "
                          "passphrase is wrong).") from None
    if key is None or cert is None:
        raise HaechiError("proxy.tls.pfxFile holds no private key and certificate.")
    with tempfile.TemporaryDirectory(prefix="haechi-tls-") as directory:
        pem = os.path.join(directory, "server.pem")
        fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
            for certificate in (cert, *(chain or ())):
                handle.write(certificate.public_bytes(Encoding.PEM))
        context.load_cert_chain(pem)
