"""What the blocking and the asyncio client share: everything but the waiting (as in httpx).

A subclass only performs I/O; its lifecycle (open, then closed for good), building bodies,
mapping statuses to errors, naming a lost connection, reading responses and planning requests
around what the server lacks (`_compat`: samples one at a time where it ignores `n`, and the
notes that say so) happen here (and in `_wire`, `_compat`), once.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._compat import GENERIC, OURS, Dialect, dialect_of, merged, no_logprobs_note, one_at_a_time, samples_note
from model_server.client._errors import ClientClosed, ClientError, ServerUnavailable
from model_server.client._wire import Completion, Endpoint, body_for, error_for, unreachable

__all__ = ["CHAT", "COMPLETIONS", "TIMEOUT", "BaseClient", "ClientState"]

log = logging.getLogger(__name__)

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
        # an external server's dialect is read from its model card, with its id (`model()`)
        self.dialect: Dialect = GENERIC if endpoint.external else OURS
        self.notes: list[str] = []
        self._noted: set[str] = set()
        self.on_note: Callable[[str], None] | None = None

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
            raise error_for(r.status_code, r.text, dict(r.headers), self.endpoint.url, self.endpoint.external)
        return r

    def _status_fallback(self, exc: ClientError) -> dict[str, Any]:
        """/status is ours; of an external server (vLLM, TGI) we show what every such server has."""
        if self.endpoint.external:
            return {"url": self.endpoint.url}
        raise exc

    def _remember_model(self, r: httpx.Response) -> str:
        card = r.json()["data"][0]
        self._model = str(card["id"])
        if self.endpoint.external:
            self.dialect = dialect_of(card.get("owned_by"))
        return self._model

    def note(self, lack: str, message: str) -> None:
        """Record `message` (what the server lacks, what the client does instead) once per `lack`
        (a short key: "n", "logprobs"), and tell `on_note`."""
        if lack in self._noted:
            return
        self._noted.add(lack)
        self.notes.append(message)
        log.info("%s", message)
        if self.on_note is not None:
            self.on_note(message)

    def _body(self, model: str, params: SamplingParams, **kw: Any) -> dict[str, Any]:
        return body_for(model, params, neutral=self.dialect.neutral, top_k_off=self.dialect.top_k_off, **kw)

    def _plan(self, params: SamplingParams) -> list[SamplingParams]:
        """One request for all the samples, or one per sample where the server ignores `n` (noted)."""
        if params.samples > 1 and not self.dialect.samples:
            self.note("n", samples_note(self.dialect, self.endpoint.url, params.samples))
            return one_at_a_time(params)
        return [params]

    def _rest(self, params: SamplingParams, got: int) -> list[SamplingParams]:
        """After one request for all the samples gave `got` of them: requests for the others, one
        each (the server ignores `n`: remembered and noted), or none."""
        if not 1 <= got < params.samples:
            return []
        self.note("n", samples_note(self.dialect, self.endpoint.url, params.samples, got))
        self.dialect = self.dialect.without_samples()
        return one_at_a_time(params)[got:]

    def _merged(self, parts: list[Completion], logprobs: bool) -> Completion:
        result = parts[0] if len(parts) == 1 else merged(parts)
        if logprobs and any(c.logprob is None for c in result.choices):
            self.note("logprobs", no_logprobs_note(self.dialect, self.endpoint.url))
        return result
