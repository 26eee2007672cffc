"""The client against servers that are OpenAI-compatible in their own way (`_compat`): a fake server
speaks the wire as llama-cpp-python's does (checked against the real one by tests/engines)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mathcore.sampling import SamplingParams
from model_server.client import AsyncClient, Client, ServerError, external_endpoint, wait_ready
from model_server.client._compat import LLAMA_CPP_PYTHON, one_at_a_time
from model_server.client._wire import error_for

URL = "http://engine.test"
SAMPLED = SamplingParams(temperature=0.7, samples=3, seed=5, max_new_tokens=8)


class FakeEngine:
    """One model, `owned_by` as given; ignores `n` (one choice per request) unless `honours_n`;
    streams each text in two pieces; records every body it was sent."""

    def __init__(self, owned_by: str | None = "me", honours_n: bool = False, finish: bool = True, logprobs: bool = True) -> None:
        self.owned_by, self.honours_n, self.finish, self.logprobs = owned_by, honours_n, finish, logprobs
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            card = {"id": "mathassist-embedded", "object": "model", **({"owned_by": self.owned_by} if self.owned_by else {})}
            return httpx.Response(200, json={"object": "list", "data": [card]})
        if request.url.path != "/v1/completions":
            return httpx.Response(404, json={"detail": "Not Found"})
        body = json.loads(request.content)
        self.bodies.append(body)
        n = body.get("n", 1) if self.honours_n else 1
        texts = [f"sample seed={body.get('seed')} i={i}" for i in range(n)]
        if body.get("stream"):
            return httpx.Response(200, text=self._sse(texts), headers={"content-type": "text/event-stream"})
        lp = {"token_logprobs": [-0.5, -0.25]} if self.logprobs and body.get("logprobs") is not None else None
        choices = [{"index": i, "text": t, "finish_reason": "stop", "logprobs": lp} for i, t in enumerate(texts)]
        return httpx.Response(200, json={"model": "mathassist-embedded", "choices": choices,
                                         "usage": {"prompt_tokens": 4, "completion_tokens": 2 * n}})

    def _sse(self, texts: list[str]) -> str:
        events = []
        for i, t in enumerate(texts):
            events.append({"choices": [{"index": i, "text": t[:6], "finish_reason": None}]})
            events.append({"choices": [{"index": i, "text": t[6:], "finish_reason": "stop" if self.finish else None}]})
        return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def sync_client(engine: FakeEngine, notes: list[str] | None = None) -> Client:
    client = Client(external_endpoint(URL))
    client._http = httpx.Client(transport=httpx.MockTransport(engine.handle), **client._http_options())
    if notes is not None:
        client.on_note = notes.append
    return client


def async_client(engine: FakeEngine) -> AsyncClient:
    client = AsyncClient(external_endpoint(URL))
    client._http = httpx.AsyncClient(transport=httpx.MockTransport(engine.handle), **client._http_options())
    return client


def test_samples_are_asked_for_one_at_a_time_with_their_own_seeds_and_one_note() -> None:
    engine, shown = FakeEngine(), []  # type: ignore[var-annotated]
    with sync_client(engine, shown) as client:
        first = client.complete("p", SAMPLED, logprobs=True)
        client.complete("p", SAMPLED.replace(seed=None))
    assert [c.text for c in first.choices] == ["sample seed=5 i=0", "sample seed=6 i=0", "sample seed=7 i=0"]
    assert [c.index for c in first.choices] == [0, 1, 2] and first.completion_tokens == 6
    assert [b["n"] for b in engine.bodies] == [1] * 6
    unseeded = [b["seed"] for b in engine.bodies[3:]]
    assert len(set(unseeded)) == 3  # the engine would reuse one fixed seed for requests without one
    assert len(shown) == 1 and client.notes == shown
    assert "llama-cpp-python's server at http://engine.test" in shown[0] and "ignores `n`" in shown[0] and "one at a time" in shown[0]


def test_the_engines_own_sampler_defaults_are_turned_off() -> None:
    engine = FakeEngine()
    with sync_client(engine) as client:
        client.complete("p", SamplingParams())
        client.complete("p", SamplingParams(top_k=5))
    assert {k: engine.bodies[0][k] for k in ("top_k", "min_p", "repeat_penalty", "temperature")} == \
        {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "temperature": 0.0}
    assert engine.bodies[1]["top_k"] == 5


def test_vllm_and_unknown_servers_get_plain_openai_bodies() -> None:
    for owner in ("vllm", None):
        engine = FakeEngine(owned_by=owner, honours_n=True)
        with sync_client(engine) as client:
            result = client.complete("p", SAMPLED)
        assert len(engine.bodies) == 1 and engine.bodies[0]["n"] == 3 and len(result.choices) == 3
        assert not {"top_k", "min_p", "repeat_penalty"} & set(engine.bodies[0]) and client.notes == []


def test_an_unknown_server_that_ignores_n_is_found_out_while_streaming() -> None:
    engine, shown = FakeEngine(owned_by=None), []  # type: ignore[var-annotated]
    with sync_client(engine, shown) as client:
        texts = ["", "", ""]
        with client.stream("p", SAMPLED) as deltas:
            for d in deltas:
                texts[d.index] += d.text
        assert texts == ["sample seed=5 i=0", "sample seed=6 i=0", "sample seed=7 i=0"]
        assert [b["n"] for b in engine.bodies] == [3, 1, 1]
        assert len(shown) == 1 and "returned 1 of the 3 samples" in shown[0]
        client.complete("p", SAMPLED)  # remembered: straight to one at a time, no second note
    assert [b["n"] for b in engine.bodies[3:]] == [1, 1, 1] and len(shown) == 1


def test_a_stream_cut_short_is_an_error_not_a_whole_answer() -> None:
    with sync_client(FakeEngine(finish=False)) as client, pytest.raises(ServerError, match="interrupt_requests False"), \
            client.stream("p", SamplingParams()) as deltas:
        list(deltas)


def test_missing_logprobs_are_noted() -> None:
    with sync_client(FakeEngine(owned_by="vllm", honours_n=True, logprobs=False)) as client:
        client.complete("p", SAMPLED, logprobs=True)
    assert len(client.notes) == 1 and "no token log-probabilities" in client.notes[0]


def test_the_async_client_does_the_same() -> None:
    async def run() -> tuple[list[str], list[int]]:
        engine = FakeEngine()
        async with async_client(engine) as client:
            texts = ["", "", ""]
            async with client.stream("p", SAMPLED) as deltas:
                async for d in deltas:
                    texts[d.index] += d.text
            done = await client.complete("p", SAMPLED, logprobs=True)
        assert [c.text for c in done.choices] == texts and len(client.notes) == 1
        return texts, [b["seed"] for b in engine.bodies]

    texts, seeds = asyncio.run(run())
    assert texts == ["sample seed=5 i=0", "sample seed=6 i=0", "sample seed=7 i=0"] and seeds == [5, 6, 7, 5, 6, 7]


def test_one_at_a_time_numbers_seeds_as_the_tool_loop_does() -> None:
    assert [p.seed for p in one_at_a_time(SAMPLED)] == [5, 6, 7]
    assert all(p.samples == 1 for p in one_at_a_time(SAMPLED)) and not LLAMA_CPP_PYTHON.samples


def test_a_server_without_health_is_ready_when_its_models_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine()
    asked: list[str] = []
    real_get: Callable[..., httpx.Response] = httpx.get

    def get(url: str, **kw: Any) -> httpx.Response:
        asked.append(url)
        with httpx.Client(transport=httpx.MockTransport(engine.handle)) as http:
            return http.get(url, headers=kw.get("headers"))

    monkeypatch.setattr(httpx, "get", get)
    assert wait_ready(external_endpoint(URL), timeout=5) == {"status": "ok", "model": "mathassist-embedded"}
    assert asked == [f"{URL}/health", f"{URL}/v1/models"] and real_get is not get


@pytest.mark.parametrize(("body", "message"), [
    ('{"detail": "Invalid API key"}', "Invalid API key"),  # FastAPI (llama-cpp-python)
    ('{"error": "Input validation error: `top_k` must be strictly positive", "error_type": "validation"}',
     "Input validation error: `top_k` must be strictly positive"),  # TGI
    ('{"error": {"message": "1 validation error:\\n  {...}\\n\\n  File \\"app.py\\", line 264", "type": "internal_server_error"}}',
     "1 validation error:"),  # llama-cpp-python's 500: the first line, never its traceback
    ("upstream timed out", "upstream timed out"),
])
def test_errors_of_other_servers_are_one_line(body: str, message: str) -> None:
    for status in (400, 401, 500):
        err = str(error_for(status, body, {}, URL, external=True))
        assert message in err and "\n" not in err and "File " not in err
    assert "mathassist stop" not in str(error_for(401, body, {}, URL, external=True))  # it is not ours to restart
    assert str(error_for(500, body, {}, URL, external=True)).startswith(f"the server at {URL} failed")
