"""TLS for the probes: client contexts and the server certificate's expiry."""

from __future__ import annotations

import ssl

from cryptography import x509


def client_context(verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """A client context; verify=False still completes the handshake (expiry is still read)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def not_after(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """Unix seconds at which the peer's certificate expires (read even when not verified)."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    return cert.not_valid_after_utc.timestamp()
