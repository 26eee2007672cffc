"""What the sync and async clients share: request bodies, response parsing, error mapping, SSE.

Keeping this pure means the two clients differ only in how they wait, and both speak to any
OpenAI-compatible server (ours, vLLM, TGI).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mathcore.sampling import SamplingParams
from model_server.client._errors import (
    AuthenticationFailed,
    BadRequest,
    ClientError,
    Overloaded,
    ServerError,
    ServerUnavailable,
)

__all__ = ["Choice", "Completion", "Delta", "Endpoint", "body_for", "completion_from", "error_for", "parse_sse", "unreachable"]

DONE = object()


@dataclass(frozen=True)
class Endpoint:
    """Where a server is and how to authenticate.

    `external` servers (MATHASSIST_URL) are never spawned or stopped; `spawned` says that this
    client started the process just now, so a front end can say that it is starting.
    """

    url: str
    token: str | None
    model: str | None = None
    external: bool = False
    pid: int | None = None
    spawned: bool = False

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass(frozen=True)
class Choice:
    """One sample: its text, why it ended, and its summed token log-probability (when asked)."""

    index: int
    text: str
    finish_reason: str | None
    logprob: float | None = None
    tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    """A whole (non-streamed) response: every sample, in index order, and the token counts."""

    model: str
    choices: tuple[Choice, ...]
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Delta:
    """A piece of streamed text for sample `index`; `finish_reason` is set on its last piece."""

    index: int
    text: str
    finish_reason: str | None


def body_for(
    model: str | None, params: SamplingParams, *, prompt: str | None = None,
    messages: list[dict[str, str]] | None = None, stream: bool = False, logprobs: bool = False,
    neutral: tuple[tuple[str, object], ...] = (), top_k_off: int | None = None,
) -> dict[str, Any]:
    """The JSON body of a completion (prompt) or chat (messages) request.

    `neutral` are fields sent as they are (a server's own sampler defaults turned off), and
    `top_k_off` what to send for top-k 0 (None: leave the field out, as OpenAI and vLLM read it).
    """
    body: dict[str, Any] = {
        "model": model,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_new_tokens,
        "n": params.samples,
        "stream": stream,
    }
    if params.top_k or top_k_off is not None:
        body["top_k"] = params.top_k or top_k_off
    body.update(neutral)
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if prompt is not None:
        body["prompt"] = prompt
        if logprobs:
            body["logprobs"] = 0
    else:
        body["messages"] = messages
        if logprobs:
            body["logprobs"] = True
    return {k: v for k, v in body.items() if v is not None}


def completion_from(data: dict[str, Any]) -> Completion:
    """Parse a non-streaming completion or chat response."""
    choices = []
    for c in data.get("choices", []):
        text = c["message"]["content"] if "message" in c else c.get("text", "")
        lp, n = None, None
        logprobs = c.get("logprobs")
        if isinstance(logprobs, dict) and logprobs.get("token_logprobs") is not None:
            values = [v for v in logprobs["token_logprobs"] if v is not None]
            lp, n = sum(values), len(values)
        elif isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
            values = [t["logprob"] for t in logprobs["content"]]
            lp, n = sum(values), len(values)
        choices.append(Choice(c.get("index", 0), text or "", c.get("finish_reason"), lp, n))
    usage = data.get("usage") or {}
    return Completion(data.get("model", ""), tuple(sorted(choices, key=lambda c: c.index)),
                      usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))


def error_for(status: int, text: str, headers: dict[str, str], url: str, external: bool = False) -> ClientError:
    """The typed error for a non-2xx response, in one line.

    Ours and vLLM say `{"error": {"message", "param"}}`; TGI `{"error": "..."}`; FastAPI servers
    (llama-cpp-python) `{"detail": "..."}`. An `external` server is not restarted by the user.
    """
    message, param = _error_message(text, status)
    if status == 401:
        fix = "check MATHASSIST_API_KEY" if external else "check MATHASSIST_API_KEY or restart with `mathassist stop`"
        return AuthenticationFailed(f"{url} refused the token ({message}); {fix}")
    if status in (429, 503):
        retry = headers.get("retry-after")
        who = f"the server at {url} is" if external else "the model process is"
        return Overloaded(f"{who} busy or still loading ({message}); try again shortly",
                          float(retry) if retry and retry.replace(".", "", 1).isdigit() else None)
    if status >= 500:
        return ServerError(f"{f'the server at {url}' if external else 'the model process'} failed: {message}")
    return BadRequest(message, param)


def _error_message(text: str, status: int) -> tuple[str, str | None]:
    """The first line of what the server said went wrong (never its traceback), and the field it named."""
    try:
        data = json.loads(text)
        err = data.get("error", data.get("detail")) if isinstance(data, dict) else None
    except ValueError:
        err = None
    if isinstance(err, dict):
        message, param = str(err.get("message") or text), err.get("param")
    elif isinstance(err, str):
        message, param = err, None
    else:
        message, param = text, None
    first = message.strip().split("\n", 1)[0].strip()
    return first or f"HTTP {status}", param if isinstance(param, str) else None


def unreachable(endpoint: Endpoint, exc: Exception, connected: bool) -> ServerUnavailable:
    """One line for a connection that could not be made, or that broke after it was made."""
    if endpoint.external:
        what = "stopped answering" if connected else "is not reachable"
        return ServerUnavailable(f"the server at {endpoint.url} {what} ({exc}); check MATHASSIST_URL or the serverUrl setting")
    if connected:
        return ServerUnavailable(f"the model process at {endpoint.url} stopped (killed, out of memory, or crashed; "
                                 "see server.log in the runtime folder); the next request starts a new one")
    return ServerUnavailable(f"the model process at {endpoint.url} is not reachable ({exc}); the next request starts a new one, "
                             "or run `mathassist status`")


def parse_sse(line: str) -> Delta | object | None:
    """A streamed Delta from one SSE line, DONE at the end, None for lines without data."""
    if not line.startswith("data:"):
        return None
    payload = line[5:].strip()
    if payload == "[DONE]":
        return DONE
    data = json.loads(payload)
    if "error" in data:
        raise ServerError(f"the model process failed while streaming: {data['error'].get('message')}")
    if not data.get("choices"):
        return None
    c = data["choices"][0]
    text = (c.get("delta") or {}).get("content") if "delta" in c else c.get("text")
    return Delta(c.get("index", 0), text or "", c.get("finish_reason"))
