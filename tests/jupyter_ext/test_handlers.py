"""The server extension's endpoints in a real Jupyter server, without a browser.

The model behind it is a scripted OpenAI-compatible server (`MATHASSIST_URL`, where vLLM would
stand): the layer under test is above the client, and the scripted server shows what reached the
model (the prompt) and when the model's stream was closed (cancellation). The assist package,
the client and the checker are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.jupyter_ext.conftest import JupyterServer
from tests.scripted_server import scripted_server, serving

ABOVE = "We expand the product.\n\n$$\n\\begin{aligned}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\"
CURRENT = "&= "
FAST = {"inline": {"debounceMs": 0}}


@contextmanager
def slow_server() -> Iterator[tuple[str, list[str]]]:
    """A model that streams one token every 0.1 s for 30 s; yields its URL and, per request, how its
    stream ended: `closed` when the client hung up before the end."""
    ends: list[str] = []

    async def completions(request: Request) -> Response:
        await request.json()

        async def chunks() -> AsyncIterator[str]:
            try:
                for _ in range(300):
                    await asyncio.sleep(0.1)
                    yield f"data: {json.dumps({'choices': [{'index': 0, 'text': ' x', 'finish_reason': None}]})}\n\n"
                yield "data: [DONE]\n\n"
                ends.append("finished")
            except BaseException:
                ends.append("closed")
                raise

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "slow", "object": "model"}]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/v1/models", models), Route("/health", health), Route("/v1/completions", completions, methods=["POST"])])
    with serving(app) as url:
        yield url, ends


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_cells_above_are_the_prompt_and_the_ghost_text_comes_back(jupyter: Callable[..., JupyterServer]) -> None:
    with scripted_server(["x^2 + 8x + 15 \\\\\n&= (x + 4)^2 - 1"]) as (url, prompts):
        server = jupyter(MATHASSIST_URL=url)
        assert server.request("PUT", "settings", json=FAST).json() == {"errors": []}
        reply = server.suggest([("markdown", ABOVE), ("code", "import numpy as np"), ("markdown", CURRENT)])
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"suggestion": "x^2 + 8x + 15"}  # cut at the row's end, checked (verified)
        [prompt] = prompts
        assert "(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n\n&=" in prompt and "numpy" not in prompt
        assert server.request("GET", "status").json()["state"] == "ready"
        # typing along the ghost text: the rest of it, without asking the model again
        along = server.suggest([("markdown", ABOVE), ("code", "import numpy as np"), ("markdown", CURRENT + "x^2 +")])
        assert along.json() == {"suggestion": " 8x + 15"} and len(prompts) == 1


def test_an_unreachable_model_is_told_once_and_requests_answer_nothing(jupyter: Callable[..., JupyterServer]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"  # bound, never listening: connection refused
        server = jupyter(MATHASSIST_URL=url)
        assert server.suggest([("markdown", ABOVE), ("markdown", CURRENT)]).json() == {"suggestion": None}
        status = server.request("GET", "status").json()
        assert status["state"] == "error" and status["notice"]["id"] == 1
        assert "mathassist:" in status["notice"]["message"] and "serverUrl" in status["notice"]["message"]
        time.sleep(3.2)  # past the connection's retry pause: the next request tries again, and fails again
        assert server.suggest([("markdown", ABOVE), ("markdown", CURRENT + " ")]).json() == {"suggestion": None}
        assert server.request("GET", "status").json()["notice"]["id"] == 1, "the user is told once, not at every keystroke"


def test_a_request_the_browser_abandons_or_a_newer_one_supersedes_stops_the_generation(jupyter: Callable[..., JupyterServer]) -> None:
    with slow_server() as (url, ends):
        server = jupyter(MATHASSIST_URL=url)
        server.request("PUT", "settings", json={"inline": {"debounceMs": 0, "maxNewTokens": 512, "verify": "off"}})
        # the browser aborts (the user typed on): its connection closes, and so does the model's stream
        try:
            server.suggest([("markdown", ABOVE + "\n&= x")], timeout=1.5)
            raise AssertionError("the slow model answered within 1.5 s")
        except httpx.TimeoutException:
            pass
        assert wait_for(lambda: ends == ["closed"]), f"the model's stream was not closed: {ends}"
        # a newer request for the same notebook supersedes the one in flight, which answers nothing at once
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(server.suggest, [("markdown", ABOVE + "\n&= y")])
            time.sleep(1.0)
            with suppress(httpx.TimeoutException):
                server.suggest([("markdown", ABOVE + "\n&= z")], timeout=1.5)
            assert first.result(timeout=5).json() == {"suggestion": None}
        assert wait_for(lambda: ends == ["closed"] * 3), f"every abandoned generation is stopped: {ends}"
        assert server.request("GET", "status").json()["state"] == "ready"


def test_bad_input_gets_a_clear_error_and_the_server_lives_on(jupyter: Callable[..., JupyterServer]) -> None:
    with scripted_server(["x^2 + 8x + 15"]) as (url, prompts):
        server = jupyter(MATHASSIST_URL=url)
        server.request("PUT", "settings", json=FAST)
        huge = server.suggest([("markdown", "x = 1\n" * 200_000), ("markdown", "&= ")])
        assert huge.status_code == 413 and "mathassist reads at most 1,000,000" in huge.json()["error"]["message"]
        junk = server.suggest([("markdown", "\x00\x01\xff\x7fELF\x02\x01" * 1000)], offset=0)
        assert junk.status_code == 400 and "binary data" in junk.json()["error"]["message"]
        raw = server.request("POST", "suggest", content=bytes(range(256)) * 100, headers={"Content-Type": "application/json"})
        assert raw.status_code == 400 and "must be JSON in UTF-8" in raw.json()["error"]["message"]
        check = server.request("POST", "check", json={"source": 42})
        assert check.status_code == 400 and "source must be a string" in check.json()["error"]["message"]
        assert prompts == [], "nothing malformed reaches the model"
        anonymous = httpx.post(f"{server.url}/mathassist/suggest", json={}, timeout=10)
        assert anonymous.status_code == 403  # the Jupyter server's authentication, as for its own APIs
        assert server.suggest([("markdown", ABOVE), ("markdown", CURRENT)]).json() == {"suggestion": "x^2 + 8x + 15"}


def test_a_wrong_step_comes_back_with_its_counterexample_and_bad_settings_are_named(jupyter: Callable[..., JupyterServer]) -> None:
    server = jupyter()
    source = "Expand.\n\n$$\n\\begin{aligned}\n(x + 4)(x + 2) &= x^2 + 2x + 4x + 8 \\\\\n&= x^2 + 6x + 9\n\\end{aligned}\n$$"
    marks = server.request("POST", "check", json={"source": source}).json()["marks"]
    assert [m["step"] for m in marks] == ["x^2 + 2x + 4x + 8 = x^2 + 6x + 9"]
    [mark] = marks
    assert source[mark["from"] : mark["to"]] == "&= x^2 + 6x + 9" and mark["counterexample"]["at"]
    reply = server.request("PUT", "settings", json={"enabled": "sometimes", "inline": {"temperature": 5, "verify": "maybe"}}).json()
    assert any("mathassist.enabled must be true or false" in e for e in reply["errors"])
    assert any("mathassist.inline.temperature must be between 0 and 2" in e for e in reply["errors"])
    assert any("mathassist.inline.verify must be one of filter, off" in e for e in reply["errors"])
    server.request("PUT", "settings", json={"enabled": False})
    assert server.request("POST", "check", json={"source": source}).json() == {"marks": []}
    assert server.request("GET", "status").json()["enabled"] is False
