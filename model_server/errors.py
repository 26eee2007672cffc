"""The model process's exceptions.

    MathassistServerError
    ├── ModelLoadError      the model could not be found, read or placed (message says what to do)
    └── RequestError        a request the engine must refuse; carries the HTTP status and field
        ├── PromptTooLong   prompt plus max_tokens exceed the model's context (400)
        ├── BodyTooLarge    the request body is over the size limit (413)
        └── QueueFull       too many requests waiting (429, with Retry-After)
"""

from __future__ import annotations

__all__ = ["BodyTooLarge", "MathassistServerError", "ModelLoadError", "PromptTooLong", "QueueFull", "RequestError"]


class MathassistServerError(Exception):
    """Base of the model process's errors."""


class ModelLoadError(MathassistServerError):
    """The model could not be loaded; the message names the cause and the fix."""


class RequestError(MathassistServerError):
    """A request is refused before any work; maps onto an OpenAI-style error body."""

    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class PromptTooLong(RequestError):
    """The prompt (with the tokens asked for) does not fit the model's context."""


class BodyTooLarge(RequestError):
    """The request body is larger than the server reads."""

    status = 413


class QueueFull(RequestError):
    """The engine's queue is full; the client should retry after a moment."""

    status = 429
    type = "overloaded_error"
