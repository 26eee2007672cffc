"""The blocking client (CLI, IPython). Closing a stream early cancels the generation server-side."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._base import CHAT, COMPLETIONS, BaseClient, ClientState
from model_server.client._compat import Streamed
from model_server.client._connect import find_endpoint, wait_ready
from model_server.client._errors import ClientError
from model_server.client._wire import DONE, Completion, Delta, Endpoint, completion_from, parse_sse

__all__ = ["Client"]


class Client(BaseClient):
    """A blocking client of one endpoint; `Client.connect()` finds or spawns the shared process.

    `complete`, `chat` and `stream` speak the OpenAI API, so the same client works against vLLM
    or TGI (`MATHASSIST_URL`). Use it as a context manager, or call `close()`. `AsyncClient` has
    the same methods, awaited.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._http = httpx.Client(**self._http_options())

    @classmethod
    def connect(cls, spawn: bool = True, wait: bool = True, model: str | None = None,
                on_wait: Callable[[str], None] | None = None, url: str | None = None, api_key: str | None = None) -> Client:
        """Find (or start) the shared process, or use the server at `url`; with `wait`, wait for its
        model, reporting each wait through `on_wait`."""
        endpoint = find_endpoint(spawn, model, url, api_key)
        if endpoint.spawned and on_wait is not None:
            on_wait(f"starting the model process ({endpoint.model})")
        if wait:
            wait_ready(endpoint, on_wait=on_wait)
        return cls(endpoint)

    def close(self) -> None:
        self.state = ClientState.CLOSED
        self._http.close()

    def __enter__(self) -> Client:
        self._ensure_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        self._ensure_open()
        try:
            return self._checked(self._http.request(method, path, **kw))
        except httpx.TransportError as exc:
            raise self._lost(exc) from exc

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "/health").json() or {})

    def status(self) -> dict[str, Any]:
        """The process's /status (model, device, memory, requests); for an external server, its URL and model."""
        try:
            return dict(self._request("GET", "/status").json())
        except ClientError as exc:
            return {**self._status_fallback(exc), "model": self.model()}

    def model(self) -> str:
        """The served model's id (asked once from /v1/models)."""
        self._ensure_open()
        return self._model or self._remember_model(self._request("GET", "/v1/models"))

    def complete(self, prompt: str, params: SamplingParams, logprobs: bool = False) -> Completion:
        return self._create(COMPLETIONS, params, logprobs, prompt=prompt)

    def chat(self, messages: list[dict[str, str]], params: SamplingParams) -> Completion:
        return self._create(CHAT, params, False, messages=messages)

    def _create(self, path: str, params: SamplingParams, logprobs: bool, **what: Any) -> Completion:
        model = self.model()
        plan = self._plan(params)
        parts = [self._post(path, self._body(model, p, logprobs=logprobs, **what)) for p in plan]
        if len(plan) == 1:
            parts += [self._post(path, self._body(model, p, logprobs=logprobs, **what)) for p in self._rest(params, len(parts[0].choices))]
        return self._merged(parts, logprobs)

    def _post(self, path: str, body: dict[str, Any]) -> Completion:
        return completion_from(self._request("POST", path, json=body).json())

    @contextmanager
    def stream(self, prompt: str, params: SamplingParams) -> Iterator[Iterator[Delta]]:
        """`with client.stream(...) as deltas:`; leaving the block early cancels the generation."""
        deltas = self._stream_samples(prompt, params)
        try:
            yield deltas
        except httpx.TransportError as exc:
            raise self._lost(exc) from exc
        finally:
            deltas.close()

    def _stream_samples(self, prompt: str, params: SamplingParams) -> Generator[Delta, None, None]:
        """The deltas of every sample: of one request, or of one request per sample in turn."""
        model = self.model()
        plan, offset, i = self._plan(params), 0, 0
        while i < len(plan):
            seen = Streamed(self.dialect, self.endpoint.url, offset)
            with self._http.stream("POST", COMPLETIONS, json=self._body(model, plan[i], prompt=prompt, stream=True)) as r:
                if r.status_code >= 400:
                    r.read()
                    self._checked(r)
                for line in r.iter_lines():
                    item = parse_sse(line)
                    if item is DONE:
                        break
                    if isinstance(item, Delta):
                        yield seen.see(item)
            offset += seen.count()
            if len(plan) == 1:
                plan += self._rest(params, offset)
            i += 1
