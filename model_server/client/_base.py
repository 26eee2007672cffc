"""What the blocking and the asyncio client share: everything but the waiting (as in httpx).

A subclass only performs I/O; its lifecycle (open, then closed for good), building bodies,
mapping statuses to errors, naming a lost connection and reading responses happen here (and in
`_wire`), once.
"""

from __future__ import annotations

import enum
from typing import Any

import httpx

from model_server.client._errors import ClientClosed, ClientError, ServerUnavailable
from model_server.client._wire import Endpoint, error_for, unreachable

__all__ = ["CHAT", "COMPLETIONS", "TIMEOUT", "BaseClient", "ClientState"]

TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=30.0, pool=30.0)
COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"


class ClientState(enum.Enum):
    """A client is open from construction until it is closed; a closed one stays closed."""

    OPEN = "open"
    CLOSED = "closed"


class BaseClient:
    """State and rules of a client of one endpoint; `Client` and `AsyncClient` add the I/O."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.state = ClientState.OPEN
        self._model = endpoint.model

    def _http_options(self) -> dict[str, Any]:
        return {"base_url": self.endpoint.url, "headers": self.endpoint.headers(), "timeout": TIMEOUT}

    def _ensure_open(self) -> None:
        if self.state is ClientState.CLOSED:
            raise ClientClosed(f"this client of {self.endpoint.url} was closed; connect a new one (Client.connect())")

    def _lost(self, exc: httpx.TransportError) -> ServerUnavailable:
        return unreachable(self.endpoint, exc, connected=not isinstance(exc, httpx.ConnectError))

    def _checked(self, r: httpx.Response) -> httpx.Response:
        """The response, or the typed error its status means (the body must have been read)."""
        if r.status_code >= 400:
            raise error_for(r.status_code, r.text, dict(r.headers), self.endpoint.url)
        return r

    def _status_fallback(self, exc: ClientError) -> dict[str, Any]:
        """/status is ours; of an external server (vLLM, TGI) we show what every such server has."""
        if self.endpoint.external:
            return {"url": self.endpoint.url}
        raise exc

    def _remember_model(self, r: httpx.Response) -> str:
        self._model = str(r.json()["data"][0]["id"])
        return self._model
