"""A scripted OpenAI-compatible server, for front-end tests of behaviour the embedded model cannot
show yet (writing programs): it answers each completion with the next scripted text, streamed.
It stands where vLLM would (`MATHASSIST_URL`); the front end, client and sandbox are the real ones."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def _app(replies: list[str], prompts: list[str]) -> Starlette:
    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "deepseek-ai/deepseek-math-7b-rl", "object": "model"}]})

    async def completions(request: Request) -> Response:
        body = await request.json()
        prompts.append(body["prompt"])
        text = replies.pop(0) if replies else ""

        async def chunks() -> AsyncIterator[str]:
            for i in range(0, len(text), 8):
                piece = {"choices": [{"index": 0, "text": text[i : i + 8], "finish_reason": None}]}
                yield f"data: {json.dumps(piece)}\n\n"
            yield f"data: {json.dumps({'choices': [{'index': 0, 'text': '', 'finish_reason': 'stop'}]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/v1/models", models), Route("/health", health),
                             Route("/v1/completions", completions, methods=["POST"])])


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve `app` on a free port of 127.0.0.1 in a thread; yields its OpenAI base URL (…/v1)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(5)


@contextmanager
def scripted_server(replies: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Serve `replies` on 127.0.0.1; yields the URL (for MATHASSIST_URL) and the prompts received."""
    prompts: list[str] = []
    with serving(_app(replies, prompts)) as url:
        yield url, prompts
