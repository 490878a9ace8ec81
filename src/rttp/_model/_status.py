"""Status codes: the seeds' names, the standard reason phrases, and the client-side 6xx codes."""

from __future__ import annotations

import enum
from http import HTTPStatus

__all__ = [
    "Code",
    "code_name",
    "reason_phrase",
    "response_codes",
]


class Code(enum.IntEnum):
    """Status codes under the seeds' names (``Code.notFound == 404``).

    The 6xx codes are not HTTP: they report client-side failures a script cannot
    otherwise see (the request-handle face returns them as the status).
    """

    switchingProtocols = 101
    okay = 200
    noContent = 204
    movedPermanently = 301
    movedTemporarily = 302
    seeOther = 303
    temporaryRedirect = 307
    badRequest = 400
    unauthorized = 401
    forbidden = 403
    notFound = 404
    methodNotAllowed = 405
    imATeapot = 418
    failedDependency = 424
    upgradeRequired = 426
    internalServerError = 500
    notImplemented = 501
    serviceUnavailable = 503
    # client-side failures (the request-handle face)
    internalClientError = 600
    unsupportedProtocol = 601
    serverNotFound = 602
    malformedResponse = 603
    networkNotAvailable = 604
    timedOut = 605
    malformedURL = 606
    connectionRefused = 607
    invalidCertificate = 609
    tooManyRedirects = 611
    tlsError = 612


_CLIENT_PHRASES = {
    600: "Internal Client Error",
    601: "Unsupported Protocol",
    602: "Server Not Found",
    603: "Malformed Response",
    604: "Network Not Available",
    605: "Timed Out",
    606: "Malformed URL",
    607: "Connection Refused",
    609: "Invalid Certificate",
    611: "Too Many Redirects",
    612: "TLS Error",
}


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _build_tables() -> tuple[dict[int, str], dict[int, str]]:
    names: dict[int, str] = {}
    phrases: dict[int, str] = {}
    for status in HTTPStatus:
        names[int(status)] = _camel(status.name)
        phrases[int(status)] = status.phrase
    for code in Code:
        names[int(code)] = code.name
    phrases.update(_CLIENT_PHRASES)
    phrases[418] = "I'm a Teapot"
    return names, phrases


_NAMES, _PHRASES = _build_tables()

#: The seeds' response-code table: name → code, for every code in :class:`Code`.
response_codes: dict[str, int] = {code.name: int(code) for code in Code}


def code_name(code: int) -> str:
    """The seeds' name for a status code (``code_name(404) == "notFound"``).

    Codes the seeds do not name get the camel-cased standard name
    (``code_name(406) == "notAcceptable"``); unknown codes give ``"unknown"``.
    """
    return _NAMES.get(code, "unknown")


def reason_phrase(code: int) -> str:
    """The standard reason phrase for ``code`` (``"Not Found"``); ``""`` for unknown codes."""
    return _PHRASES.get(code, "")
