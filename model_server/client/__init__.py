"""Client of the shared model process (or any OpenAI-compatible server), sync and async.

Front ends import only this package from `model_server`: it never imports torch.
"""

from __future__ import annotations

from model_server.client._async import AsyncClient
from model_server.client._connect import external_endpoint, find_endpoint, spawn_command, stop_process, wait_announced, wait_ready
from model_server.client._errors import (
    AuthenticationFailed,
    BadRequest,
    ClientError,
    ModelLoadFailed,
    ModelMismatch,
    Overloaded,
    ServerError,
    ServerUnavailable,
)
from model_server.client._solve import solve
from model_server.client._sync import Client
from model_server.client._wire import Choice, Completion, Delta, Endpoint

__all__ = [
    "AsyncClient",
    "AuthenticationFailed",
    "BadRequest",
    "Choice",
    "Client",
    "ClientError",
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
    "solve",
    "spawn_command",
    "stop_process",
    "wait_announced",
    "wait_ready",
]
