"""The OpenAI wire format: request bodies in, response bodies and stream chunks out.

Pure functions, no I/O: the routes in `app.py` call them. Field names and defaults follow the
OpenAI API (temperature 1, max_tokens 16 for completions), with vLLM's `top_k` and `ignore_eos`, so that a client
written for vLLM or OpenAI works against the model process unchanged.

Every body is hostile until checked: its size, its nesting, every string in it (lone UTF-16
surrogates cannot reach the tokenizer) and every field's type and range are checked here, and a
refusal names the field. The limits are module constants, which `openapi.py` publishes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mathcore.prompts import chat_prompt
from mathcore.sampling import InvalidParameter, SamplingParams
from model_server.errors import BodyTooLarge, RequestError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MESSAGES",
    "MAX_NAME_CHARS",
    "ParsedRequest",
    "check_token_ids",
    "choice_body",
    "error_body",
    "parse_json",
    "parse_request",
    "stream_chunk",
]

API_NAMES = {"max_new_tokens": "max_tokens", "samples": "n"}
MAX_BODY_BYTES = 1 << 20  # a full 4,096-token context is about 20 KB of text; a MiB leaves room
MAX_JSON_DEPTH = 8  # the deepest valid body is messages[i].content: depth 3
MAX_MESSAGES = 256
MAX_NAME_CHARS = 256  # model, user


@dataclass(frozen=True)
class ParsedRequest:
    """A validated completion or chat request."""

    chat: bool
    prompt: str | list[int]
    params: SamplingParams
    stream: bool
    logprobs: bool
    model: str | None
    ignore_eos: bool = False


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 (413 when too large) that says what is wrong with it."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the request body has {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted", None)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"the request body is not valid JSON ({exc}); send a JSON object", None) from exc
    except RecursionError as exc:
        raise RequestError(f"the request body is nested too deeply; at most {MAX_JSON_DEPTH} levels are accepted", None) from exc
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object", None)
    _check_tree(body)
    return body


def _check_tree(body: dict[str, Any]) -> None:
    """Depth at most MAX_JSON_DEPTH, and every string valid Unicode (no lone surrogates)."""
    todo: list[tuple[str, Any, int]] = [(k, v, 1) for k, v in body.items()]
    while todo:
        path, value, depth = todo.pop()
        if depth > MAX_JSON_DEPTH:
            raise RequestError(f"the request body is nested too deeply at {path}; at most {MAX_JSON_DEPTH} levels are accepted",
                               path.split("[")[0].split(".")[0])
        if isinstance(value, str):
            _check_unicode(path, value)
        elif isinstance(value, dict):
            for k, v in value.items():
                _check_unicode(f"{path}.<key>", k)
                todo.append((f"{path}.{k}", v, depth + 1))
        elif isinstance(value, list):
            todo.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))


def _check_unicode(path: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise RequestError(f"{path} contains a lone UTF-16 surrogate (\\u{ord(bad):04x} at character {exc.start}); "
                           "send valid Unicode text", path.split("[")[0].split(".")[0]) from None


def check_token_ids(ids: list[int], vocab_size: int) -> None:
    """Token ids must name tokens of this model's vocabulary."""
    bad = next((t for t in ids if not 0 <= t < vocab_size), None)
    if bad is not None:
        raise RequestError(f"prompt token ids must be between 0 and {vocab_size - 1} for this model, got {bad}", "prompt")


def parse_request(body: dict[str, Any], chat: bool, max_samples: int) -> ParsedRequest:
    """Validate one request body into a `ParsedRequest`; errors name the offending field."""
    for key in ("frequency_penalty", "presence_penalty"):
        if body.get(key) not in (None, 0, 0.0):
            raise RequestError(f"{key} is not supported by this server; leave it out", key)
    prompt: str | list[int]
    if chat:
        messages = body.get("messages")
        if isinstance(messages, list) and len(messages) > MAX_MESSAGES:
            raise RequestError(f"messages may hold at most {MAX_MESSAGES} messages, got {len(messages)}", "messages")
        if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in ("system", "user", "assistant")
            for m in messages
        ):
            raise RequestError("messages must be a non-empty list of {role: system|user|assistant, content: string}", "messages")
        prompt = chat_prompt(messages)
    else:
        raw = body.get("prompt")
        if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], str):
            raw = raw[0]
        if isinstance(raw, list) and raw and all(isinstance(t, int) and not isinstance(t, bool) for t in raw):
            prompt = list(raw)
        elif isinstance(raw, str) and raw:
            prompt = raw
        else:
            raise RequestError("prompt must be a non-empty string (or one list of token ids); batches of prompts are not supported", "prompt")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens")) if chat else body.get("max_tokens", 16)
    try:
        params = SamplingParams.create(
            names=API_NAMES,
            max_samples=max_samples,
            temperature=body.get("temperature", 1.0),
            top_k=body.get("top_k"),
            top_p=body.get("top_p"),
            max_new_tokens=max_tokens,
            samples=body.get("n"),
            seed=body.get("seed"),
            stop=body.get("stop"),
        )
    except InvalidParameter as exc:
        raise RequestError(str(exc), exc.param) from exc
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("stream must be true or false", "stream")
    logprobs = body.get("logprobs")
    if logprobs not in (None, False, True) and not (isinstance(logprobs, int) and 0 <= logprobs <= 5):
        raise RequestError("logprobs must be true/false (chat) or an integer 0 to 5 (completions)", "logprobs")
    ignore_eos = body.get("ignore_eos", False)
    if not isinstance(ignore_eos, bool):
        raise RequestError("ignore_eos must be true or false", "ignore_eos")
    model = body.get("model")
    for key in ("model", "user"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise RequestError(f"{key} must be a string", key)
        if isinstance(value, str) and len(value) > MAX_NAME_CHARS:
            raise RequestError(f"{key} may be at most {MAX_NAME_CHARS} characters long", key)
    wants_logprobs = logprobs is not None and logprobs is not False  # completions' logprobs=0 asks for them (0 == False)
    return ParsedRequest(chat, prompt, params, stream, wants_logprobs,
                         model if isinstance(model, str) else None, ignore_eos)


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def choice_body(chat: bool, index: int, text: str, finish: str | None, logprobs: dict[str, Any] | None) -> dict[str, Any]:
    """One choice of a non-streaming response."""
    if chat:
        return {"index": index, "message": {"role": "assistant", "content": text}, "finish_reason": finish, "logprobs": logprobs}
    return {"index": index, "text": text, "finish_reason": finish, "logprobs": logprobs}


def response_body(req_id: str, chat: bool, model: str, choices: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": ("chatcmpl-" if chat else "cmpl-") + req_id,
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def stream_chunk(req_id: str, chat: bool, model: str, index: int, text: str, finish: str | None, first: bool) -> str:
    """One Server-Sent Event carrying a delta."""
    if chat:
        delta: dict[str, Any] = {"content": text}
        if first:
            delta["role"] = "assistant"
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}
    else:
        choice = {"index": index, "text": text, "finish_reason": finish, "logprobs": None}
    body = {
        "id": ("chatcmpl-" if chat else "cmpl-") + req_id,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }
    return f"data: {json.dumps(body)}\n\n"
