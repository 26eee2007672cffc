"""The server extension's one exception.

    BadInput   a request the browser (or anyone holding the server's token) should not have sent:
               malformed JSON, a cell of binary data, a notebook too long to read; answered with
               its status (400, 413) and a message that says what to send instead

A model process that cannot be reached is not an error of this package: the connection reports
it to the status bar once (`assist.connection`), and the request answers with no suggestion.
"""

from __future__ import annotations

__all__ = ["BadInput"]


class BadInput(ValueError):
    """A request body mathassist cannot read; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
