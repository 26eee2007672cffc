"""What the blocking and the asyncio client share: everything but the waiting (as in httpx).

A subclass only performs I/O; building bodies, mapping statuses to errors, naming a lost
connection, and reading responses happen here (and in `_wire`), once.
"""

from __future__ import annotations

from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._errors import ClientError, ServerUnavailable
from model_server.client._wire import DONE, Completion, Delta, Endpoint, body_for, completion_from, error_for, parse_sse, unreachable

__all__ = ["TIMEOUT", "BaseClient"]

TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=30.0, pool=30.0)
COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"


class BaseClient:
    """State and rules of a client of one endpoint; `Client` and `AsyncClient` add the I/O."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._model = endpoint.model

    def _http_options(self) -> dict[str, Any]:
        return {"base_url": self.endpoint.url, "headers": self.endpoint.headers(), "timeout": TIMEOUT}

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

    def _completion_body(self, model: str, prompt: str, params: SamplingParams, logprobs: bool = False,
                         stream: bool = False) -> dict[str, Any]:
        return body_for(model, params, prompt=prompt, logprobs=logprobs, stream=stream)

    @staticmethod
    def _completion(r: httpx.Response) -> Completion:
        return completion_from(r.json())

    @staticmethod
    def _delta(line: str) -> Delta | object | None:
        """A Delta, DONE at the end of the stream, or None for a line that carries nothing."""
        return parse_sse(line)

    DONE = DONE
    CHAT = CHAT
    COMPLETIONS = COMPLETIONS
