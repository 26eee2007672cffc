"""The asyncio client (language server, Jupyter). Cancelling the awaiting task cancels the
generation: the HTTP connection closes and the model process drops the request at its next step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._base import CHAT, COMPLETIONS, BaseClient, ClientState
from model_server.client._connect import find_endpoint, wait_ready
from model_server.client._errors import ClientError
from model_server.client._wire import DONE, Completion, Delta, Endpoint, body_for, completion_from, parse_sse

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
        body = body_for(await self.model(), params, prompt=prompt, logprobs=logprobs)
        return completion_from((await self._request("POST", COMPLETIONS, json=body)).json())

    async def chat(self, messages: list[dict[str, str]], params: SamplingParams) -> Completion:
        body = body_for(await self.model(), params, messages=messages)
        return completion_from((await self._request("POST", CHAT, json=body)).json())

    @asynccontextmanager
    async def stream(self, prompt: str, params: SamplingParams) -> AsyncIterator[AsyncIterator[Delta]]:
        """`async with client.stream(...) as deltas:`; leaving early cancels the generation."""
        body = body_for(await self.model(), params, prompt=prompt, stream=True)
        try:
            async with self._http.stream("POST", COMPLETIONS, json=body) as r:
                if r.status_code >= 400:
                    await r.aread()
                    self._checked(r)
                yield self._deltas(r)
        except httpx.TransportError as exc:
            raise self._lost(exc) from exc

    @staticmethod
    async def _deltas(r: httpx.Response) -> AsyncIterator[Delta]:
        async for line in r.aiter_lines():
            item = parse_sse(line)
            if item is DONE:
                return
            if isinstance(item, Delta):
                yield item
