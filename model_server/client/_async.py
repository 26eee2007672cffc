"""The asyncio client (language server). Cancelling the awaiting task cancels the generation:
the HTTP connection closes and the model process drops the request at its next step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from mathcore.sampling import SamplingParams
from model_server.client._connect import find_endpoint, wait_ready
from model_server.client._errors import ClientError
from model_server.client._sync import TIMEOUT
from model_server.client._wire import DONE, Completion, Delta, Endpoint, body_for, completion_from, error_for, parse_sse, unreachable

__all__ = ["AsyncClient"]


class AsyncClient:
    """Async twin of `Client`; `await AsyncClient.connect()` finds or spawns the shared process."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._http = httpx.AsyncClient(base_url=endpoint.url, headers=endpoint.headers(), timeout=TIMEOUT)
        self._model = endpoint.model

    @classmethod
    async def connect(cls, spawn: bool = True, wait: bool = True, model: str | None = None) -> AsyncClient:
        endpoint = await asyncio.to_thread(find_endpoint, spawn, model)
        if wait:
            await asyncio.to_thread(wait_ready, endpoint)
        return cls(endpoint)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = await self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise unreachable(self.endpoint, exc, connected=not isinstance(exc, httpx.ConnectError)) from exc
        if r.status_code >= 400:
            raise error_for(r.status_code, r.text, dict(r.headers), self.endpoint.url)
        return r

    async def health(self) -> dict[str, Any]:
        return dict((await self._request("GET", "/health")).json() or {})

    async def status(self) -> dict[str, Any]:
        """The process's /status, or what every OpenAI-compatible server has (external ones)."""
        try:
            return dict((await self._request("GET", "/status")).json())
        except ClientError:
            return {"model": await self.model(), "url": self.endpoint.url}

    async def metrics(self) -> str:
        return (await self._request("GET", "/metrics")).text

    async def model(self) -> str:
        if self._model is None:
            self._model = str((await self._request("GET", "/v1/models")).json()["data"][0]["id"])
        return self._model

    async def complete(self, prompt: str, params: SamplingParams, logprobs: bool = False) -> Completion:
        body = body_for(await self.model(), params, prompt=prompt, logprobs=logprobs)
        return completion_from((await self._request("POST", "/v1/completions", json=body)).json())

    @asynccontextmanager
    async def stream(self, prompt: str, params: SamplingParams) -> AsyncIterator[AsyncIterator[Delta]]:
        """`async with client.stream(...) as deltas:`; leaving early cancels the generation."""
        body = body_for(await self.model(), params, prompt=prompt, stream=True)
        try:
            async with self._http.stream("POST", "/v1/completions", json=body) as r:
                if r.status_code >= 400:
                    await r.aread()
                    raise error_for(r.status_code, r.text, dict(r.headers), self.endpoint.url)
                yield _deltas(r)
        except httpx.TransportError as exc:
            raise unreachable(self.endpoint, exc, connected=not isinstance(exc, httpx.ConnectError)) from exc


async def _deltas(r: httpx.Response) -> AsyncIterator[Delta]:
    async for line in r.aiter_lines():
        item = parse_sse(line)
        if item is DONE:
            return
        if isinstance(item, Delta):
            yield item
