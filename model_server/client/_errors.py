"""The client's exceptions; every message says what to do next.

    ClientError
    ├── ServerUnavailable     nothing answers at the URL, or the process could not be started
    ├── ModelLoadFailed       the process runs but its model failed to load
    ├── ModelMismatch         the running process serves another model than the one asked for
    ├── ClientClosed          the client was closed; connect a new one
    ├── AuthenticationFailed  401: wrong or missing token
    ├── BadRequest            400/404/413: a field is wrong (`param` names it)
    ├── Overloaded            429/503: busy or still loading; retry later
    └── ServerError           5xx: the model failed on this request
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "ClientClosed",
    "ClientError",
    "ModelLoadFailed",
    "ModelMismatch",
    "Overloaded",
    "ServerError",
    "ServerUnavailable",
]


class ClientError(Exception):
    """Base of everything the client raises."""


class ClientClosed(ClientError):
    """The client was closed (`close()`, `aclose()`, or its `with` block ended)."""


class ServerUnavailable(ClientError):
    """The model process cannot be reached or started."""


class ModelLoadFailed(ClientError):
    """The model process is up but its model did not load."""


class ModelMismatch(ClientError):
    """The shared process serves another model than the one asked for; the message says how to switch."""


class AuthenticationFailed(ClientError):
    """The server refused the token."""


class BadRequest(ClientError):
    """The server refused a value; `param` is the field it named."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class Overloaded(ClientError):
    """The server is busy or still loading; `retry_after` is its hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(ClientError):
    """The server failed while generating."""
