"""The asyncio client (language server, Jupyter). Cancelling the awaiting task cancels the
generation: the HTTP connection closes and the model process drops the request at its next step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._base import CHAT, COMPLETIONS, BaseClient, ClientState
from model_server.client._compat import Streamed
from model_server.client._connect import find_endpoint, wait_ready
from model_server.client._errors import ClientError
from model_server.client._wire import DONE, Completion, Delta, Endpoint, completion_from, parse_sse

__all__ = ["AsyncClient"]


class AsyncClient(BaseClient):
    """The asyncio twin of `Client`, method for method; `await AsyncClient.connect()` finds or
    spawns the shared process. Use it as an async context manager, or call `aclose()`.

    Finding and waiting run in a thread, so the event loop (the editor's) never blocks on them.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._http = httpx.AsyncClient(**self._http_options())

    @classmethod
    async def connect(cls, spawn: bool = True, wait: bool = True, model: str | None = None,
                      on_wait: Callable[[str], None] | None = None, url: str | None = None,
                      api_key: str | None = None) -> AsyncClient:
        """Find (or start) the shared process, or use the server at `url`; with `wait`, wait for its
        model, reporting each wait through `on_wait` (called from a worker thread)."""
        endpoint = await asyncio.to_thread(find_endpoint, spawn, model, url, api_key)
        if endpoint.spawned and on_wait is not None:
            on_wait(f"starting the model process ({endpoint.model})")
        if wait:
            await asyncio.to_thread(wait_ready, endpoint, 600.0, on_wait)
        return cls(endpoint)

    async def aclose(self) -> None:
        self.state = ClientState.CLOSED
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        self._ensure_open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        self._ensure_open()
        try:
            return self._checked(await self._http.request(method, path, **kw))
        except httpx.TransportError as exc:
            raise self._lost(exc) from exc

    async def health(self) -> dict[str, Any]:
        return dict((await self._request("GET", "/health")).json() or {})

    async def status(self) -> dict[str, Any]:
        """The process's /status (model, device, memory, requests); for an external server, its URL and model."""
        try:
            return dict((await self._request("GET", "/status")).json())
        except ClientError as exc:
            return {**self._status_fallback(exc), "model": await self.model()}

    async def model(self) -> str:
        """The served model's id (asked once from /v1/models)."""
        self._ensure_open()
        return self._model or self._remember_model(await self._request("GET", "/v1/models"))

    async def complete(self, prompt: str, params: SamplingParams, logprobs: bool = False) -> Completion:
        return await self._create(COMPLETIONS, params, logprobs, prompt=prompt)

    async def chat(self, messages: list[dict[str, str]], params: SamplingParams) -> Completion:
        return await self._create(CHAT, params, False, messages=messages)

    async def _create(self, path: str, params: SamplingParams, logprobs: bool, **what: Any) -> Completion:
        model = await self.model()
        plan = self._plan(params)
        parts = [await self._post(path, self._body(model, p, logprobs=logprobs, **what)) for p in plan]
        if len(plan) == 1:
            parts += [await self._post(path, self._body(model, p, logprobs=logprobs, **what)) for p in self._rest(params, len(parts[0].choices))]
        return self._merged(parts, logprobs)

    async def _post(self, path: str, body: dict[str, Any]) -> Completion:
        return completion_from((await self._request("POST", path, json=body)).json())

    @asynccontextmanager
    async def stream(self, prompt: str, params: SamplingParams) -> AsyncIterator[AsyncIterator[Delta]]:
        """`async with client.stream(...) as deltas:`; leaving early cancels the generation."""
        deltas = self._stream_samples(prompt, params)
        try:
            yield deltas
        except httpx.TransportError as exc:
            raise self._lost(exc) from exc
        finally:
            await deltas.aclose()

    async def _stream_samples(self, prompt: str, params: SamplingParams) -> AsyncGenerator[Delta, None]:
        """The deltas of every sample: of one request, or of one request per sample in turn."""
        model = await self.model()
        plan, offset, i = self._plan(params), 0, 0
        while i < len(plan):
            seen = Streamed(self.dialect, self.endpoint.url, offset)
            async with self._http.stream("POST", COMPLETIONS, json=self._body(model, plan[i], prompt=prompt, stream=True)) as r:
                if r.status_code >= 400:
                    await r.aread()
                    self._checked(r)
                async for line in r.aiter_lines():
                    item = parse_sse(line)
                    if item is DONE:
                        break
                    if isinstance(item, Delta):
                        yield seen.see(item)
            offset += seen.count()
            if len(plan) == 1:
                plan += self._rest(params, offset)
            i += 1
