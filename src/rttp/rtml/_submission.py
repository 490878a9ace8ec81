"""RTML form submissions: the ``object/lua`` body a page's buttons send."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from ..errors import CodecError
from ._document import SUBMISSION_MEDIA_TYPE


# -- form submissions ---------------------------------------------------------------------
@dataclass(frozen=True)
class ButtonSubmit:
    """A SUBMIT button was pressed: the values of the page's inputs."""

    vals: dict[str, str] = field(default_factory=dict)


__all__ = [
    "ButtonPush",
    "ButtonSubmit",
    "Submission",
    "decode_submission",
    "encode_submission",
]


@dataclass(frozen=True)
class ButtonPush:
    """A PUSH button was pressed: its id."""

    id: str | int


Submission = Union[ButtonSubmit, ButtonPush]


def encode_submission(submission: Submission) -> bytes:
    """The ``object/lua`` body of a submission."""
    if isinstance(submission, ButtonSubmit):
        body: dict[str, Any] = {"type": "BUTTON_SUBMIT", "vals": dict(submission.vals)}
    else:
        body = {"type": "BUTTON_PUSH", "id": submission.id}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_submission(data: Any) -> Submission:
    """Validate a decoded ``object/lua`` body into a :class:`ButtonSubmit` or :class:`ButtonPush`."""

    def bad(problem: str) -> CodecError:
        return CodecError(
            f"form submission {problem}", status=400, media_type=SUBMISSION_MEDIA_TYPE
        )

    if not isinstance(data, Mapping):
        raise bad(f"must be an object, got {type(data).__name__}")
    kind = data.get("type")
    if kind == "BUTTON_SUBMIT":
        vals = data.get("vals", {})
        if not isinstance(vals, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in vals.items()
        ):
            raise bad(f"'vals' must map input names to strings, got {vals!r}")
        return ButtonSubmit(dict(vals))
    if kind == "BUTTON_PUSH":
        button_id = data.get("id")
        if (
            button_id is None
            or isinstance(button_id, bool)
            or not isinstance(button_id, (str, int))
        ):
            raise bad(f"'id' must be a string or an integer, got {button_id!r}")
        return ButtonPush(button_id)
    raise bad(f"'type' must be BUTTON_SUBMIT or BUTTON_PUSH, got {kind!r}")
