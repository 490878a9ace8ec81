"""What an ASGI scope tells of the connection under a request: the server's address
and, over TLS, the ``tls`` extension (the ASGI TLS spec: the protocol version and
cipher suite as their IANA numbers, the client's certificate as PEM)."""

from __future__ import annotations

import contextlib
import functools
import ssl
from typing import Any

from ..._model import Request
from ..engine._answering import ExchangeAnswer
from ..engine._server import ServerConnection

__all__ = ["TLS_VERSIONS", "connection_of", "tls_extension"]

#: TLS protocol versions as the TLS spec numbers them
TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def connection_of(request: Request) -> ServerConnection | None:
    """The server connection ``request`` arrived on (None for one made by hand)."""
    answer = request._answer
    if type(answer) is ExchangeAnswer:  # (the common case, without a subclass check)
        return answer.connection
    return answer.connection if isinstance(answer, ExchangeAnswer) else None


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The scope's ``tls`` extension for a TLS connection."""
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    cipher = ssl_object.cipher()
    return {
        # the server's own certificate is not readable from the ssl module
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": _subject_name(ssl_object.getpeercert()) if der else None,
        # a certificate that failed verification fails the handshake: none get here
        "client_cert_error": None,
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": _cipher_ids().get(cipher[0]) if cipher else None,
    }


def _subject_name(cert: Any) -> str | None:
    """An RFC 4514 distinguished name of a certificate's subject (most specific first)."""
    if not cert:
        return None
    names = {
        "commonName": "CN",
        "organizationName": "O",
        "organizationalUnitName": "OU",
        "countryName": "C",
        "stateOrProvinceName": "ST",
        "localityName": "L",
        "domainComponent": "DC",
        "userId": "UID",
    }
    parts = []
    for rdn in reversed(cert.get("subject", ())):
        part = "+".join(f"{names.get(key, key)}={_escape(value)}" for key, value in rdn)
        parts.append(part)
    return ",".join(parts) or None


def _escape(value: str) -> str:
    """RFC 4514's escaping of an attribute value."""
    out = "".join("\\" + ch if ch in ',+"\\<>;' else ch for ch in value)
    if out[:1] in ("#", " "):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


@functools.cache
def _cipher_ids() -> dict[str, int]:
    """OpenSSL's cipher names to their 16-bit IANA numbers (every suite it knows)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with contextlib.suppress(ssl.SSLError):  # a build without that syntax: the defaults
        context.set_ciphers("ALL:@SECLEVEL=0")
    return {cipher["name"]: cipher["id"] & 0xFFFF for cipher in context.get_ciphers()}
