"""The OpenAI-compatible API, driven by the official `openai` package against the real process."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.conftest import RunningServer

PROBLEM = "User: Solve for $x$: $4x - 3 = 13$.\nPlease reason step by step, and put your final answer within \\boxed{}.\n\nAssistant:"


@pytest.fixture
def oai(server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token, max_retries=0)


def test_models_lists_the_served_model(oai: openai.OpenAI, server: RunningServer) -> None:
    assert [m.id for m in oai.models.list().data] == [server.model] == ["embedded"]


def test_greedy_completion_streaming_equals_non_streaming(oai: openai.OpenAI, server: RunningServer) -> None:
    full = oai.completions.create(model=server.model, prompt=PROBLEM, max_tokens=48, temperature=0)
    streamed = "".join(
        c.choices[0].text for c in oai.completions.create(model=server.model, prompt=PROBLEM, max_tokens=48, temperature=0, stream=True)
    )
    assert full.choices[0].text == streamed
    assert full.choices[0].text.strip()
    assert full.usage is not None and 0 < full.usage.completion_tokens <= 48


def test_chat_completion_streaming_equals_non_streaming(oai: openai.OpenAI, server: RunningServer) -> None:
    messages = [{"role": "user", "content": "Compute $12 + 30$.\nPlease reason step by step, and put your final answer within \\boxed{}."}]
    full = oai.chat.completions.create(model=server.model, messages=messages, max_tokens=40, temperature=0)  # type: ignore[arg-type]
    chunks = list(oai.chat.completions.create(model=server.model, messages=messages, max_tokens=40, temperature=0, stream=True))  # type: ignore[arg-type]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert full.choices[0].message.content == "".join(c.choices[0].delta.content or "" for c in chunks)
    assert full.choices[0].message.role == "assistant"


def test_same_seed_same_text_and_other_seed_differs(oai: openai.OpenAI, server: RunningServer) -> None:
    def sample(seed: int) -> str:
        r = oai.completions.create(model=server.model, prompt="We expand the product.\n\\begin{align*}\n", max_tokens=32,
                                   temperature=1.5, seed=seed)
        return r.choices[0].text

    first = sample(1)
    assert sample(1) == first
    assert any(sample(s) != first for s in (2, 3, 4))


def test_stop_strings_end_the_text_before_them(oai: openai.OpenAI, server: RunningServer) -> None:
    r = oai.completions.create(model=server.model, prompt=PROBLEM, max_tokens=64, temperature=0, stop=["$"])
    assert "$" not in r.choices[0].text
    assert r.choices[0].finish_reason == "stop"


def test_eight_concurrent_requests_each_get_their_own_answer(server: RunningServer) -> None:
    lengths = [5, 9, 13, 17, 21, 25, 29, 33]

    def kwargs(i: int) -> dict[str, object]:
        return {"model": server.model, "prompt": f"Compute ${100 + 7 * i} + {3 * i}$.", "max_tokens": lengths[i],
                "temperature": 0.4 * (i % 3), "top_p": 1.0 - 0.05 * i, "seed": i, "n": 1 + i % 2,
                "extra_body": {"top_k": (i % 4) * 5, "ignore_eos": True}}

    sync = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token, max_retries=0)
    greedy = [i for i in range(8) if i % 3 == 0]
    alone = {i: sync.completions.create(**kwargs(i)).choices[0].text for i in greedy}  # type: ignore[call-overload]

    async def run() -> list[openai.types.Completion]:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=server.token, max_retries=0)
        return await asyncio.gather(*(client.completions.create(**kwargs(i)) for i in range(8)))  # type: ignore[call-overload]

    results = asyncio.run(run())
    for i, r in enumerate(results):
        assert len(r.choices) == 1 + i % 2
        assert all(c.finish_reason == "length" for c in r.choices)
        assert r.usage is not None and r.usage.completion_tokens == lengths[i] * len(r.choices)
        if i in alone:  # batched greedy decoding gives what the request gets alone
            assert r.choices[0].text == alone[i]
    server.wait_idle(timeout=2)


def test_dropped_stream_is_cancelled_within_a_second(server: RunningServer) -> None:
    before = server.metric("mathassist_requests_cancelled_total")
    body = {"model": server.model, "prompt": PROBLEM, "max_tokens": 2000, "temperature": 1.0, "stream": True, "seed": 5}
    with httpx.stream("POST", f"{server.url}/v1/completions", json=body, headers=server.headers, timeout=30) as r:
        lines = r.iter_lines()
        got = [line for _, line in zip(range(6), lines, strict=False) if line.startswith("data:")]
        assert got
    dropped = time.monotonic()
    while server.metric("mathassist_requests_cancelled_total") < before + 1:
        assert time.monotonic() - dropped < 1.0, "the dropped stream was not cancelled within a second"
        time.sleep(0.02)
    server.wait_idle(timeout=1)


def test_a_client_that_hangs_up_on_a_whole_answer_cancels_it(server: RunningServer) -> None:
    """Not streamed: the client gives up waiting; the generation stops instead of running to 2,000 tokens."""
    before = server.metric("mathassist_requests_cancelled_total")
    body = {"model": server.model, "prompt": PROBLEM, "max_tokens": 2000, "temperature": 1.0, "ignore_eos": True, "seed": 5}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/v1/completions", json=body, headers=server.headers, timeout=0.5)
    dropped = time.monotonic()
    while server.metric("mathassist_requests_cancelled_total") < before + 1:
        assert time.monotonic() - dropped < 1.0, "the abandoned request was not cancelled within a second"
        time.sleep(0.02)
    server.wait_idle(timeout=1)


BAD = [
    ({"temperature": -1}, "temperature"),
    ({"temperature": 2.5}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_k": -1}, "top_k"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"n": 0}, "n"),
    ({"prompt": "x " * 5000}, "prompt"),
    ({"max_tokens": 10_000}, "max_tokens"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f"{f}={next(iter(c.values()))!s:.12}" for c, f in BAD])
def test_bad_values_get_400_naming_the_field_and_the_next_request_works(server: RunningServer, change: dict[str, object], field: str) -> None:
    body = {"model": server.model, "prompt": "Compute $1 + 1$.", "max_tokens": 4} | change
    r = httpx.post(f"{server.url}/v1/completions", json=body, headers=server.headers, timeout=30)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == field
    assert field in err["message"]
    ok = httpx.post(f"{server.url}/v1/completions", json={"prompt": "Compute $1 + 1$.", "max_tokens": 4, "temperature": 0},
                    headers=server.headers, timeout=30)
    assert ok.status_code == 200


def test_malformed_json_missing_token_and_foreign_host(server: RunningServer) -> None:
    url = f"{server.url}/v1/completions"
    r = httpx.post(url, content=b"{not json", headers=server.headers, timeout=10)
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]
    r = httpx.post(url, json={"prompt": "x"}, timeout=10)
    assert r.status_code == 401
    r = httpx.post(url, json={"prompt": "x"}, headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(url, json={"prompt": "x"}, headers={**server.headers, "Host": "attacker.example:80"}, timeout=10)
    assert r.status_code == 403 and "Host" in r.json()["error"]["message"]
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    ok = httpx.post(url, json={"prompt": "Compute $2 + 2$.", "max_tokens": 3, "temperature": 0}, headers=server.headers, timeout=30)
    assert ok.status_code == 200


def test_temperature_zero_leaves_the_engine_healthy(oai: openai.OpenAI, server: RunningServer) -> None:
    for _ in range(3):
        r = oai.completions.create(model=server.model, prompt="Compute $7 + 8$.", max_tokens=8, temperature=0)
        assert r.choices[0].text
    health = httpx.get(f"{server.url}/health", timeout=5).json()
    assert health == {"status": "ok", "model": "embedded", "device": "cpu"}
    assert server.metric("mathassist_requests_failed_total") == 0


def test_metrics_report_latency_histograms_and_tokens(server: RunningServer) -> None:
    text = httpx.get(f"{server.url}/metrics", headers=server.headers, timeout=10).text
    for name in ("mathassist_time_to_first_token_seconds_bucket", "mathassist_time_per_output_token_seconds_count",
                 "mathassist_generation_tokens_total", "mathassist_requests_running", "mathassist_requests_waiting",
                 "mathassist_requests_finished_total", "mathassist_requests_cancelled_total"):
        assert name in text
    assert server.metric("mathassist_generation_tokens_total") > 0


def test_logprobs_zero_returns_the_sampled_tokens_log_probabilities(oai: openai.OpenAI, server: RunningServer) -> None:
    r = oai.completions.create(model=server.model, prompt=PROBLEM, max_tokens=6, temperature=0, logprobs=0)
    lp = r.choices[0].logprobs
    assert lp is not None and lp.tokens is not None and lp.token_logprobs is not None
    assert len(lp.tokens) == len(lp.token_logprobs) == 6
    assert all(v <= 0 for v in lp.token_logprobs) and "".join(lp.tokens)
