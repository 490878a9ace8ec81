"""The core model: URL, Headers, Request, Response and the status table. No I/O, no trio."""

from ._answer import Answer
from ._forms import FieldInfo, FormData, FormValue, UploadFile, assemble_form
from ._headers import MULTIPLE, Headers, HeadersLike, encode_header_text
from ._messages import Body, HTTPStatusError, StreamConsumed
from ._request import Request
from ._response import Response
from ._status import Code, code_name, reason_phrase, response_codes
from ._url import DEFAULT_PORTS, URL, QueryLike, QueryParams

__all__ = [
    "Answer",
    "Body",
    "Code",
    "FieldInfo",
    "FormData",
    "FormValue",
    "DEFAULT_PORTS",
    "HTTPStatusError",
    "Headers",
    "HeadersLike",
    "MULTIPLE",
    "QueryLike",
    "QueryParams",
    "Request",
    "Response",
    "StreamConsumed",
    "UploadFile",
    "assemble_form",
    "URL",
    "code_name",
    "encode_header_text",
    "reason_phrase",
    "response_codes",
]
