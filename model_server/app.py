"""The HTTP API of the model process (Starlette): OpenAI-compatible routes, health and metrics.

Security, in order, for every request: the Host header must name this machine (DNS
rebinding), then every route but `/health` needs `Authorization: Bearer <token>`, compared in
constant time. No CORS headers are sent, so browsers keep other origins out.
A client that goes away (disconnect, closed stream) cancels its request in the engine.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from mathcore.sampling import MAX_SAMPLES
from model_server import api
from model_server.engine import Engine
from model_server.errors import BodyTooLarge, RequestError
from model_server.openapi import openapi_schema
from model_server.requests import Event, Request

__all__ = ["ServerState", "create_app"]

log = logging.getLogger(__name__)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass
class ServerState:
    """Shared between the routes, the loader thread and the idle watchdog."""

    token: str
    model: str
    version: str
    allowed_hosts: frozenset[str] = LOCAL_HOSTS
    engine: Engine | None = None
    load_error: str | None = None
    max_samples: int = MAX_SAMPLES
    started_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)


def _error(status: int, message: str, type_: str, param: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(api.error_body(message, type_, param), status_code=status, headers=headers)


def _host_ok(state: ServerState, host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    return host in state.allowed_hosts


class _Routes:
    """The API's handlers over one `ServerState`: each route guarded (Host header, token), errors as JSON."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def guarded(self, handler: Callable[[HttpRequest], Awaitable[Response]], auth: bool = True) -> Callable[[HttpRequest], Awaitable[Response]]:
        state = self.state

        async def wrapper(request: HttpRequest) -> Response:
            if not _host_ok(state, request.headers.get("host", "")):
                return _error(403, "the Host header does not name this machine; connect to 127.0.0.1 or localhost", "forbidden_host", "host")
            if auth:
                given = request.headers.get("authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {state.token}".encode()):
                    return _error(401, "missing or wrong bearer token; read it from server.json in the runtime folder "
                                  "(or set MATHASSIST_API_KEY)", "authentication_error")
                state.last_used = time.monotonic()
            try:
                return await handler(request)
            except RequestError as exc:
                headers = {"Retry-After": "1"} if exc.status == 429 else None
                return _error(exc.status, str(exc), exc.type, exc.param, headers)

        return wrapper

    async def health(self, request: HttpRequest) -> Response:
        state = self.state
        if state.engine is not None:
            return JSONResponse({"status": "ok", "model": state.model, "device": state.engine.loaded.device})
        if state.load_error:
            return JSONResponse({"status": "error", "model": state.model, "message": state.load_error}, status_code=503)
        return JSONResponse({"status": "loading", "model": state.model}, status_code=503, headers={"Retry-After": "1"})

    async def models(self, request: HttpRequest) -> Response:
        state = self.state
        ctx = state.engine.loaded.context_length if state.engine else None
        card = {"id": state.model, "object": "model", "created": int(state.started_at), "owned_by": "mathassist", "max_model_len": ctx}
        return JSONResponse({"object": "list", "data": [card]})

    async def metrics(self, request: HttpRequest) -> Response:
        text = self.state.engine.render_metrics() if self.state.engine else ""
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def status(self, request: HttpRequest) -> Response:
        return JSONResponse(_status(self.state))

    async def openapi(self, request: HttpRequest) -> Response:
        state = self.state
        if state.engine is None:
            return JSONResponse(openapi_schema(state.version, state.max_samples, None))
        loaded = state.engine.loaded
        return JSONResponse(openapi_schema(state.version, state.max_samples, loaded.context_length, loaded.vocab_size))

    async def completions(self, request: HttpRequest) -> Response:
        return await self._generate(request, chat=False)

    async def chat_completions(self, request: HttpRequest) -> Response:
        return await self._generate(request, chat=True)

    async def _generate(self, request: HttpRequest, chat: bool) -> Response:
        state = self.state
        body = api.parse_json(await _read_body(request))
        parsed = api.parse_request(body, chat, state.max_samples)
        if parsed.model is not None and parsed.model != state.model:
            return _error(404, f"the model {parsed.model!r} is not served here; this process serves {state.model!r}", "not_found_error", "model")
        if state.engine is None:
            return _error(503, _not_ready(state.load_error), "unavailable_error", headers={"Retry-After": "2"})
        engine = state.engine
        if isinstance(parsed.prompt, list):
            api.check_token_ids(parsed.prompt, engine.loaded.vocab_size)
            ids = parsed.prompt
        else:
            ids = engine.loaded.tokenizer(parsed.prompt)["input_ids"]
        req = engine.submit(ids, parsed.params, ignore_eos=parsed.ignore_eos)
        if parsed.stream:
            return StreamingResponse(_stream(engine, req, parsed.chat, state.model), media_type="text/event-stream")
        return await _complete(request, engine, req, parsed, state.model, len(ids))


def create_app(state: ServerState) -> Starlette:
    """The Starlette application over `state`."""
    r = _Routes(state)
    return Starlette(routes=[
        Route("/health", r.guarded(r.health, auth=False)),
        Route("/openapi.json", r.guarded(r.openapi, auth=False)),
        Route("/v1/models", r.guarded(r.models)),
        Route("/metrics", r.guarded(r.metrics)),
        Route("/status", r.guarded(r.status)),
        Route("/v1/completions", r.guarded(r.completions), methods=["POST"]),
        Route("/v1/chat/completions", r.guarded(r.chat_completions), methods=["POST"]),
    ])


async def _read_body(request: HttpRequest) -> bytes:
    """The body, refused with 413 as soon as it is known to be over the limit (not read to the end)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > api.MAX_BODY_BYTES:
        raise BodyTooLarge(f"the request body has {declared} bytes; at most {api.MAX_BODY_BYTES} are accepted", None)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > api.MAX_BODY_BYTES:
            raise BodyTooLarge(f"the request body is over {api.MAX_BODY_BYTES} bytes, the most accepted", None)
        chunks.append(chunk)
    return b"".join(chunks)


def _not_ready(load_error: str | None) -> str:
    return f"the model failed to load: {load_error}" if load_error else "the model is still loading; retry in a moment"


async def _stream(engine: Engine, req: Request, chat: bool, model: str) -> AsyncIterator[str]:
    """SSE chunks; if the client goes away, Starlette cancels this generator and we cancel the request."""
    first: set[int] = set()
    try:
        async for ev in req.events():
            yield api.stream_chunk(req.id, chat, model, ev.index, ev.text, ev.finish_reason, ev.index not in first)
            first.add(ev.index)
        yield "data: [DONE]\n\n"
    except RuntimeError as exc:
        yield f"data: {json.dumps(api.error_body(str(exc), 'server_error'))}\n\n"
    finally:
        engine.cancel(req)


async def _collect(req: Request) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = {}
    async for ev in req.events():
        out.setdefault(ev.index, []).append(ev)
    return out


async def _hung_up(http: HttpRequest) -> None:
    """Return when the client disconnects: its body is read, so the next ASGI message is that
    (noticed at once, where polling `is_disconnected` every 0.2 s let a cancelled request run on)."""
    while (await http.receive())["type"] != "http.disconnect":
        pass


async def _complete(http: HttpRequest, engine: Engine, req: Request, parsed: api.ParsedRequest, model: str, n_prompt: int) -> Response:
    """Wait for every sample, watching for a client that hangs up meanwhile."""
    task = asyncio.ensure_future(_collect(req))
    gone = asyncio.ensure_future(_hung_up(http))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():  # the client went away: the engine drops the request at its next step
            engine.cancel(req)
            task.cancel()
            return Response(status_code=499)
        events = task.result()
    except RuntimeError as exc:
        return _error(500, str(exc), "server_error")
    finally:
        gone.cancel()
        engine.cancel(req)
    tok = engine.loaded.tokenizer
    choices, completion_tokens = [], 0
    for index in sorted(events):
        evs = events[index]
        last = evs[-1]
        completion_tokens += last.tokens
        logprobs = None
        if parsed.logprobs:
            logprobs = {"tokens": tok.convert_ids_to_tokens(list(last.token_ids)), "token_logprobs": list(last.token_logprobs),
                        "top_logprobs": None, "text_offset": None}
        choices.append(api.choice_body(parsed.chat, index, "".join(e.text for e in evs), last.finish_reason, logprobs))
    usage = {"prompt_tokens": n_prompt, "completion_tokens": completion_tokens, "total_tokens": n_prompt + completion_tokens}
    return JSONResponse(api.response_body(req.id, parsed.chat, model, choices, usage))


def _status(state: ServerState) -> dict[str, Any]:
    out: dict[str, Any] = {"model": state.model, "version": state.version, "pid": os.getpid(),
                           "uptime_s": round(time.time() - state.started_at, 1), "load_error": state.load_error}
    eng = state.engine
    if eng is None:
        return out | {"state": "error" if state.load_error else "loading"}
    out |= {"state": "ready", "device": eng.loaded.device, "dtype": eng.loaded.dtype, "context_length": eng.loaded.context_length}
    out |= eng.stats()
    out["memory"] = _memory(eng.loaded.device)
    return out


def _memory(device: str) -> dict[str, float]:
    mem: dict[str, float] = {}
    try:
        with open("/proc/self/statm") as f:
            mem["rss_mib"] = round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        pass
    if device.startswith("cuda"):
        import torch

        mem["gpu_allocated_mib"] = round(torch.cuda.memory_allocated() / 2**20, 1)
        mem["gpu_peak_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return mem
