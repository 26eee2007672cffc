"""The blocking client (CLI, IPython). Closing a stream early cancels the generation server-side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._connect import find_endpoint, wait_ready
from model_server.client._errors import ClientError
from model_server.client._wire import DONE, Completion, Delta, Endpoint, body_for, completion_from, error_for, parse_sse, unreachable

__all__ = ["Client"]

TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=30.0, pool=30.0)


class Client:
    """Talks to one endpoint; `Client.connect()` finds or spawns the shared process."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._http = httpx.Client(base_url=endpoint.url, headers=endpoint.headers(), timeout=TIMEOUT)
        self._model = endpoint.model

    @classmethod
    def connect(cls, spawn: bool = True, wait: bool = True, model: str | None = None) -> Client:
        endpoint = find_endpoint(spawn=spawn, model=model)
        if wait:
            wait_ready(endpoint)
        return cls(endpoint)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise unreachable(self.endpoint, exc, connected=not isinstance(exc, httpx.ConnectError)) from exc
        if r.status_code >= 400:
            raise error_for(r.status_code, r.text, dict(r.headers), self.endpoint.url)
        return r

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "/health").json() or {})

    def status(self) -> dict[str, Any]:
        """The process's /status, or what every OpenAI-compatible server has (external ones)."""
        try:
            return dict(self._request("GET", "/status").json())
        except ClientError:
            return {"model": self.model(), "url": self.endpoint.url}

    def metrics(self) -> str:
        return self._request("GET", "/metrics").text

    def model(self) -> str:
        """The served model's id (asked once from /v1/models)."""
        if self._model is None:
            self._model = str(self._request("GET", "/v1/models").json()["data"][0]["id"])
        return self._model

    def complete(self, prompt: str, params: SamplingParams, logprobs: bool = False) -> Completion:
        body = body_for(self.model(), params, prompt=prompt, logprobs=logprobs)
        return completion_from(self._request("POST", "/v1/completions", json=body).json())

    def chat(self, messages: list[dict[str, str]], params: SamplingParams) -> Completion:
        body = body_for(self.model(), params, messages=messages)
        return completion_from(self._request("POST", "/v1/chat/completions", json=body).json())

    @contextmanager
    def stream(self, prompt: str, params: SamplingParams) -> Iterator[Iterator[Delta]]:
        """`with client.stream(...) as deltas:`; leaving the block early cancels the generation."""
        body = body_for(self.model(), params, prompt=prompt, stream=True)
        try:
            with self._http.stream("POST", "/v1/completions", json=body) as r:
                if r.status_code >= 400:
                    r.read()
                    raise error_for(r.status_code, r.text, dict(r.headers), self.endpoint.url)
                yield _deltas(r)
        except httpx.TransportError as exc:
            raise unreachable(self.endpoint, exc, connected=not isinstance(exc, httpx.ConnectError)) from exc


def _deltas(r: httpx.Response) -> Iterator[Delta]:
    for line in r.iter_lines():
        item = parse_sse(line)
        if item is DONE:
            return
        if isinstance(item, Delta):
            yield item
