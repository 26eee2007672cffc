"""Hostile and malformed input against the real model process: always a 4xx naming the problem,
never a 5xx, and the process keeps serving. Includes a schemathesis fuzz from `/openapi.json`."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.conftest import RunningServer, start_server, stop_server

NESTED = b'{"prompt": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"

HOSTILE: list[tuple[str, bytes, int, str, str | None]] = [
    # (case, raw body, status, words in the message, param)
    ("50,000 nested arrays", NESTED, 400, "nested too deeply", None),
    ("lone surrogates", b'{"prompt": "\\udcff\\ud800 x", "max_tokens": 4}', 400, "lone UTF-16 surrogate", "prompt"),
    ("seed 2**70", json.dumps({"prompt": "x", "seed": 2**70}).encode(), 400, "64-bit integer", "seed"),
    ("seed -2**70", json.dumps({"prompt": "x", "seed": -(2**70)}).encode(), 400, "64-bit integer", "seed"),
    ("surrogate in a chat message", b'{"messages": [{"role": "user", "content": "a \\ud800"}]}', 400, "surrogate", "messages"),
    ("surrogate in a stop string", b'{"prompt": "x", "stop": ["\\udfff"]}', 400, "surrogate", "stop"),
    ("nested 9 levels in an ignored field", json.dumps({"prompt": "x", "extra": [[[[[[[[1]]]]]]]]}).encode(), 400, "nested too deeply", "extra"),
    ("two MiB body", json.dumps({"prompt": "x" * (2 << 20)}).encode(), 413, "at most", None),
    ("token id past the vocabulary", json.dumps({"prompt": [5, 10**9]}).encode(), 400, "token ids must be between 0 and", "prompt"),
    ("negative token id", json.dumps({"prompt": [-1]}).encode(), 400, "token ids must be between 0 and", "prompt"),
    ("huge token id", json.dumps({"prompt": [2**70]}).encode(), 400, "token ids must be between 0 and", "prompt"),
    ("17 stop strings", json.dumps({"prompt": "x", "stop": [str(i) for i in range(17)]}).encode(), 400, "at most 16", "stop"),
    ("a 1000-character stop string", json.dumps({"prompt": "x", "stop": ["s" * 1000]}).encode(), 400, "at most 256", "stop"),
    ("n of a million", json.dumps({"prompt": "x", "n": 10**6}).encode(), 400, "between 1 and", "n"),
    ("300 messages", json.dumps({"messages": [{"role": "user", "content": "x"}] * 300}).encode(), 400, "at most 256", "messages"),
    ("a number as the model", json.dumps({"prompt": "x", "model": 5}).encode(), 400, "model must be a string", "model"),
    ("NaN temperature", b'{"prompt": "x", "temperature": NaN}', 400, "finite", "temperature"),
    ("invalid UTF-8", b'{"prompt": "\xff\xfe"}', 400, "not valid JSON", None),
    ("an array body", b"[1, 2]", 400, "JSON object", None),
    ("a prompt longer than the context", json.dumps({"prompt": "1 " * 6000}).encode(), 400, "context", "prompt"),
    ("max_tokens 2**70", json.dumps({"prompt": "x", "max_tokens": 2**70}).encode(), 400, "max_tokens", "max_tokens"),
]


def post(server: RunningServer, path: str, raw: bytes) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", content=raw, timeout=60,
                      headers={**server.headers, "content-type": "application/json"})


@pytest.mark.parametrize(("case", "raw", "status", "words", "param"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_body_gets_a_4xx_naming_the_problem(server: RunningServer, case: str, raw: bytes, status: int, words: str,
                                                    param: str | None) -> None:
    path = "/v1/chat/completions" if b'"messages"' in raw[:20] else "/v1/completions"
    r = post(server, path, raw)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert words in err["message"], err
    assert err["param"] == param
    ok = post(server, "/v1/completions", json.dumps({"prompt": "Compute $2 + 3$.", "max_tokens": 2}).encode())
    assert ok.status_code == 200, "the process must keep serving after a hostile body"


def test_a_negative_seed_is_a_valid_64_bit_seed(server: RunningServer) -> None:
    body = {"prompt": "We expand the product.\n", "max_tokens": 8, "temperature": 1.0, "seed": -(2**63)}
    first = post(server, "/v1/completions", json.dumps(body).encode())
    assert first.status_code == 200, first.text
    assert post(server, "/v1/completions", json.dumps(body).encode()).json()["choices"][0]["text"] == first.json()["choices"][0]["text"]


def test_openapi_schema_publishes_every_limit_without_a_token(server: RunningServer) -> None:
    schema = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    props = schema["paths"]["/v1/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert props["n"]["maximum"] == 16
    assert props["seed"]["maximum"] == 2**63 - 1
    assert props["max_tokens"]["maximum"] == 4095
    assert props["stop"]["oneOf"][1]["maxItems"] == 16
    assert props["prompt"]["oneOf"][2]["items"]["maximum"] > 0
    assert "1048576 bytes" in schema["info"]["description"]
    assert set(schema["paths"]) >= {"/health", "/openapi.json", "/v1/models", "/v1/completions", "/v1/chat/completions", "/metrics"}


def _bounded(case: Any) -> Any:
    """Keep generation short: the fuzz is about input handling, not about decoding 4,000 tokens."""
    body = case.body
    if isinstance(body, dict):
        for key in ("max_tokens", "max_completion_tokens"):
            if isinstance(body.get(key), int) and not isinstance(body.get(key), bool) and body[key] > 3:
                body[key] = 3
        if "messages" in body and "max_tokens" not in body and "max_completion_tokens" not in body:
            body["max_tokens"] = 3
    return case


def test_fuzzing_the_api_from_its_openapi_schema_finds_no_5xx(server: RunningServer) -> None:
    raw = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    strategy = st.one_of([op.as_strategy(generation_mode=mode) for op in operations for mode in GenerationMode])
    seen: list[int] = []
    deadline = time.monotonic() + 60

    @settings(max_examples=250, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        response = _bounded(case).call(base_url=server.url, headers=server.headers, timeout=60)
        seen.append(response.status_code)
        assert response.status_code < 500, f"{case.method} {case.path} {case.body!r}: {response.status_code} {response.text[:300]}"

    run()
    assert len(seen) >= 100, f"only {len(seen)} requests were made"
    assert any(s == 200 for s in seen) and any(400 <= s < 500 for s in seen), sorted(set(seen))
    server.wait_idle(10)


@pytest.mark.slow
def test_64_simultaneous_streams_are_served_in_full_or_refused_with_retry_after(tmp_path: Path) -> None:
    proc, srv = start_server(tmp_path, "--max-batch", "8", "--max-queue", "24")
    try:
        alone = httpx.post(f"{srv.url}/v1/completions", headers=srv.headers, timeout=60, json={**STREAM_BODY, "stream": False})
        expected = alone.json()["choices"][0]["text"]
        results = asyncio.run(_sixty_four_streams(srv))
        done = [r for r in results if r[0] == "done"]
        refused = [r for r in results if r[0] == "429"]
        assert len(done) + len(refused) == 64, [r for r in results if r[0] not in ("done", "429")]
        assert len(done) >= 24 and refused, (len(done), len(refused))
        assert all(text == expected for _, text in done), "every accepted stream gets its whole text"
        assert all(float(retry) > 0 for _, retry in refused), "every refusal carries Retry-After"
        srv.wait_idle(10)
        assert srv.metric("mathassist_requests_finished_total") == len(done) + 1
    finally:
        stop_server(proc)


STREAM_BODY = {"prompt": "Compute $12 + 30$.", "max_tokens": 12, "temperature": 0, "ignore_eos": True, "stream": True}


async def _sixty_four_streams(srv: RunningServer) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=srv.url, headers=srv.headers, timeout=120, limits=httpx.Limits(max_connections=100)) as http:
        async def one() -> tuple[str, str]:
            async with http.stream("POST", "/v1/completions", json=STREAM_BODY) as r:
                if r.status_code == 429:
                    return "429", r.headers.get("retry-after", "0")
                if r.status_code != 200:
                    return str(r.status_code), (await r.aread()).decode()
                text, finished = "", False
                async for line in r.aiter_lines():
                    if line == "data: [DONE]":
                        return ("done" if finished else "no finish"), text
                    if line.startswith("data:"):
                        choice = json.loads(line[5:])["choices"][0]
                        text += choice["text"]
                        finished = finished or choice["finish_reason"] == "length"
                return "cut", text

        return list(await asyncio.gather(*(one() for _ in range(64))))
