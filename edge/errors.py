"""Typed request errors: each class carries its HTTP status and a stable code; instances carry the details.

The handler is the one place an error becomes a response (see ``edge.problem``). Messages never contain
raw input: offending values are passed through :func:`quote_input` first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class InvalidParam:
    """One entry of RFC 9457 ``invalid-params``: the parameter name and why it was refused."""

    name: str
    reason: str


class Problem(Exception):
    """An error that becomes an RFC 9457 problem: ``status``/``code``/``title`` per class, details per instance.

    The base of both packages' errors (:class:`RequestError` here, ``worker.errors.WorkerError``), so one function
    (``edge.problem.problem_body``) renders either.
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, invalid_params: tuple[InvalidParam, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid_params = invalid_params


class RequestError(Problem):
    """Base of every error the request contract raises."""

    status = 400
    code = "invalid-request"
    title = "Invalid request"


class MethodNotAllowed(RequestError):
    status = 405
    code = "method-not-allowed"
    title = "Method not allowed"


class UriTooLong(RequestError):
    status = 414
    code = "uri-too-long"
    title = "URI too long"


class InvalidPath(RequestError):
    code = "invalid-path"
    title = "Invalid dataset path"


class UnsupportedFormat(RequestError):
    code = "unsupported-format"
    title = "Unsupported format"


class UnknownParameter(RequestError):
    code = "unknown-parameter"
    title = "Unknown query parameter"


class InvalidParameter(RequestError):
    code = "invalid-parameter"
    title = "Invalid query parameter value"


_MAX_QUOTED = 60


def quote_input(text: str, limit: int = _MAX_QUOTED) -> str:
    """Render untrusted input safely inside a message: JSON-quoted, ASCII only, cut to ``limit`` characters.

    Example: a name ``a"b`` + newline comes back as ``"a\\"b\\n"`` (JSON string syntax, ready to embed).
    """
    cut = text if len(text) <= limit else text[:limit] + "..."
    return json.dumps(cut, ensure_ascii=True)
