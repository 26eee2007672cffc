"""Client of the shared model process (or any OpenAI-compatible server), sync and async.

`Client` and `AsyncClient` mirror each other method for method (as httpx's do): `connect`,
`health`, `status`, `model`, `complete`, `chat`, `stream`, and closing. Finding or spawning the
shared process (`find_endpoint`) and waiting for its model (`wait_ready`) are separate so that a
front end can show progress. Front ends import only this package from `model_server`: it never
imports torch. Solving problems on top of it lives in `assist`.
"""

from __future__ import annotations

from model_server.client._async import AsyncClient
from model_server.client._base import ClientState
from model_server.client._connect import external_endpoint, find_endpoint, serve_process, stop_process, wait_ready
from model_server.client._errors import (
    AuthenticationFailed,
    BadRequest,
    ClientClosed,
    ClientError,
    ModelLoadFailed,
    ModelMismatch,
    Overloaded,
    ServerError,
    ServerUnavailable,
)
from model_server.client._sync import Client
from model_server.client._wire import Choice, Completion, Delta, Endpoint

__all__ = [
    "AsyncClient",
    "AuthenticationFailed",
    "BadRequest",
    "Choice",
    "Client",
    "ClientClosed",
    "ClientError",
    "ClientState",
    "Completion",
    "Delta",
    "Endpoint",
    "ModelLoadFailed",
    "ModelMismatch",
    "Overloaded",
    "ServerError",
    "ServerUnavailable",
    "external_endpoint",
    "find_endpoint",
    "serve_process",
    "stop_process",
    "wait_ready",
]
