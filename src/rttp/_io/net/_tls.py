"""Building the TLS contexts trio-rttp uses (TLS >= 1.2, AEAD ciphers, ALPN http/1.1)."""

from __future__ import annotations

import os
import ssl

from ...errors import TLSError

__all__ = ["client_context", "server_context"]

_AEAD_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"


def server_context(
    certfile: str,
    keyfile: str | None = None,
    *,
    alpn: tuple[str, ...] = ("http/1.1",),
    password: str | None = None,
) -> ssl.SSLContext:
    """A server context: TLS 1.2 or newer, forward-secret AEAD ciphers only, ALPN set;
    ``password`` decrypts an encrypted key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_AEAD_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except (OSError, ssl.SSLError) as exc:
        if keyfile is None and isinstance(exc, ssl.SSLError):
            message = (
                f"cannot load TLS certificate {certfile!r}: it holds no private key that "
                "matches; give the key file too (keyfile=, --keyfile)"
            )
        else:
            message = f"cannot load TLS certificate {certfile!r} / key {keyfile!r}: {exc}"
        raise TLSError(message, reason="certificate") from exc
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def client_context(
    verify: bool | str | ssl.SSLContext = True,
    cert: str | tuple[str, str] | None = None,
    *,
    alpn: tuple[str, ...] = ("http/1.1",),
    trust_env: bool = True,
) -> ssl.SSLContext:
    """A client context: verification on (system CAs, or ``verify`` as a CA file), ALPN
    set. The system CAs include ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` (OpenSSL reads
    them) unless ``trust_env`` is False: then only OpenSSL's built-in locations."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        context = ssl.create_default_context() if trust_env else _built_in_cas()
    else:
        try:
            context = ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise TLSError(f"cannot load CA bundle {verify!r}: {exc}", reason="cafile") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise TLSError(
                f"cannot load client certificate {certfile!r}: {exc}", reason="certificate"
            ) from exc
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def _built_in_cas() -> ssl.SSLContext:
    """A verifying context with OpenSSL's compiled-in CA locations only (the
    environment's ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` ignored)."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile is None and capath is None:
        return ssl.create_default_context()  # nothing built in to fall back on
    return ssl.create_default_context(cafile=cafile, capath=capath)
