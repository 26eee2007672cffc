"""The pure halves of both sides of the wire: `api.parse_request` (server) and `_wire` (client)."""

from __future__ import annotations

import json

import pytest

from mathcore.sampling import SamplingParams
from model_server import api
from model_server.client import AuthenticationFailed, BadRequest, Overloaded, ServerError
from model_server.client._wire import DONE, Delta, Endpoint, body_for, completion_from, error_for, parse_sse, unreachable
from model_server.errors import BodyTooLarge, RequestError


def test_a_completion_body_becomes_one_validated_value() -> None:
    parsed = api.parse_request({"prompt": ["x + 1"], "max_tokens": 7, "n": 2, "top_k": 3, "stop": "$", "seed": 4, "logprobs": 0},
                               chat=False, max_samples=16)
    assert parsed.prompt == "x + 1" and not parsed.stream and parsed.logprobs
    assert parsed.params == SamplingParams(temperature=1.0, top_k=3, max_new_tokens=7, samples=2, seed=4, stop=("$",))


def test_chat_renders_the_deepseek_format_and_defaults_max_tokens() -> None:
    parsed = api.parse_request({"messages": [{"role": "user", "content": "Compute $2+2$."}], "temperature": 0}, chat=True, max_samples=16)
    assert parsed.prompt == "User: Compute $2+2$.\n\nAssistant:"
    assert parsed.params.max_new_tokens == SamplingParams().max_new_tokens


@pytest.mark.parametrize(("body", "param"), [
    ({"prompt": ""}, "prompt"),
    ({"prompt": ["a", "b"]}, "prompt"),
    ({"prompt": [1, True]}, "prompt"),
    ({"prompt": "x", "n": 17}, "n"),
    ({"prompt": "x", "stream": "yes"}, "stream"),
    ({"prompt": "x", "logprobs": 6}, "logprobs"),
    ({"prompt": "x", "presence_penalty": 0.5}, "presence_penalty"),
    ({"prompt": "x", "user": "u" * 300}, "user"),
])
def test_refusals_name_the_field(body: dict[str, object], param: str) -> None:
    with pytest.raises(RequestError) as info:
        api.parse_request(body, chat=False, max_samples=16)
    assert info.value.param == param and info.value.status == 400


def test_parse_json_bounds_size_and_depth() -> None:
    with pytest.raises(BodyTooLarge):
        api.parse_json(b" " * (api.MAX_BODY_BYTES + 1))
    with pytest.raises(RequestError, match="nested too deeply"):
        api.parse_json(json.dumps({"prompt": "x", "a": [[[[[[[[[]]]]]]]]]}).encode())
    assert api.parse_json(json.dumps({"messages": [{"role": "user", "content": "é"}]}).encode())["messages"][0]["content"] == "é"


def test_body_for_speaks_openai_and_vllm() -> None:
    params = SamplingParams(temperature=0.5, top_k=4, max_new_tokens=9, samples=2, seed=1, stop=("\n",))
    body = body_for("m", params, prompt="p", logprobs=True, stream=True)
    assert body == {"model": "m", "temperature": 0.5, "top_p": 1.0, "max_tokens": 9, "n": 2, "stream": True,
                    "top_k": 4, "seed": 1, "stop": ["\n"], "prompt": "p", "logprobs": 0}
    assert "top_k" not in body_for(None, SamplingParams(), messages=[{"role": "user", "content": "q"}])


def test_completion_from_sums_logprobs_and_orders_choices() -> None:
    data = {"model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 4}, "choices": [
        {"index": 1, "text": "b", "finish_reason": "stop", "logprobs": {"token_logprobs": [-1.0, -0.5]}},
        {"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "length",
         "logprobs": {"content": [{"logprob": -0.25}]}},
    ]}
    c = completion_from(data)
    assert [(ch.index, ch.text, ch.logprob, ch.tokens) for ch in c.choices] == [(0, "a", -0.25, 1), (1, "b", -1.5, 2)]
    assert (c.prompt_tokens, c.completion_tokens) == (3, 4)


def test_sse_lines() -> None:
    chunk = {"choices": [{"index": 2, "text": "x", "finish_reason": None}]}
    assert parse_sse(f"data: {json.dumps(chunk)}") == Delta(2, "x", None)
    assert parse_sse("data: [DONE]") is DONE
    assert parse_sse(": keep-alive") is None
    with pytest.raises(ServerError, match="boom"):
        parse_sse('data: {"error": {"message": "boom"}}')


@pytest.mark.parametrize(("status", "kind"), [(401, AuthenticationFailed), (429, Overloaded), (503, Overloaded),
                                              (500, ServerError), (400, BadRequest), (413, BadRequest)])
def test_error_for_maps_statuses(status: int, kind: type) -> None:
    err = error_for(status, json.dumps({"error": {"message": "m", "param": "n"}}), {"retry-after": "2"}, "http://x")
    assert isinstance(err, kind)
    if isinstance(err, Overloaded):
        assert err.retry_after == 2.0


def test_a_lost_connection_is_one_line_that_says_what_happens_next() -> None:
    ours = Endpoint("http://127.0.0.1:1", "t", "embedded", pid=5)
    msg = str(unreachable(ours, OSError("reset"), connected=True))
    assert "stopped (killed" in msg and "next request starts a new one" in msg and "\n" not in msg
    assert "MATHASSIST_URL" in str(unreachable(Endpoint("http://h", None, external=True), OSError("x"), connected=False))


def test_the_sync_and_async_clients_mirror_each_other_method_for_method() -> None:
    import inspect

    from model_server.client import AsyncClient, Client

    def public(cls: type) -> dict[str, list[str]]:
        return {n: list(inspect.signature(f).parameters) for n, f in vars(cls).items() if not n.startswith("_") and callable(f)}

    sync, aio = public(Client), public(AsyncClient)
    assert sync.pop("close") == aio.pop("aclose")  # httpx's names for closing
    assert sync == aio
    for name, f in vars(AsyncClient).items():
        if name in aio and name not in ("stream", "connect"):
            assert inspect.iscoroutinefunction(f), name


async def test_a_closed_client_says_so_instead_of_a_transport_error() -> None:
    from model_server.client import AsyncClient, Client, ClientClosed, ClientState, Endpoint

    endpoint = Endpoint("http://127.0.0.1:9", "t", "embedded")
    with Client(endpoint) as client:
        assert client.state is ClientState.OPEN
    with pytest.raises(ClientClosed, match="connect a new one"):
        client.model()
    async with AsyncClient(endpoint) as aclient:
        pass
    assert aclient.state is ClientState.CLOSED
    with pytest.raises(ClientClosed):
        await aclient.health()
