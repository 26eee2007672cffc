"""The model process's OpenAPI 3.1 schema, served at `/openapi.json` (as vLLM and TGI serve theirs).

Every limit in it is read from the constants that the validation itself uses (`api`,
`mathcore.sampling`) and from the running model (context length, vocabulary), so the published
contract cannot drift from what the server accepts. Clients and fuzzers (schemathesis) read it.
"""

from __future__ import annotations

from typing import Any

from mathcore.sampling import MAX_STOP_CHARS, MAX_STOPS, SEED_MAX, SEED_MIN
from model_server import api

__all__ = ["openapi_schema"]

_ERRORS = {
    "400": "a field is missing, of the wrong type or out of range; `error.param` names it",
    "401": "missing or wrong bearer token (it is in server.json)",
    "403": "the Host header does not name this machine",
    "404": "the model named is not the one served",
    "413": f"the body is over {api.MAX_BODY_BYTES} bytes",
    "429": "the queue is full; retry after `Retry-After` seconds",
    "503": "the model is still loading (or failed to load); retry after `Retry-After` seconds",
}


def _sampling(max_samples: int, context: int | None) -> dict[str, Any]:
    max_tokens: dict[str, Any] = {"type": "integer", "minimum": 1, "description": "tokens to generate; prompt + max_tokens <= context"}
    if context:
        max_tokens["maximum"] = context - 1
    return {
        "model": {"type": "string", "maxLength": api.MAX_NAME_CHARS, "description": "must name the served model if given"},
        "max_tokens": max_tokens,
        "temperature": {"type": "number", "minimum": 0, "maximum": 2, "description": "0 is greedy decoding"},
        "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "top_k": {"type": "integer", "minimum": 0, "description": "0 turns it off (vLLM's field)"},
        "n": {"type": "integer", "minimum": 1, "maximum": max_samples, "description": "independent samples"},
        "seed": {"type": "integer", "minimum": SEED_MIN, "maximum": SEED_MAX},
        "stop": {"oneOf": [
            {"type": "string", "minLength": 1, "maxLength": MAX_STOP_CHARS},
            {"type": "array", "maxItems": MAX_STOPS, "items": {"type": "string", "minLength": 1, "maxLength": MAX_STOP_CHARS}},
        ]},
        "stream": {"type": "boolean", "description": "answer with Server-Sent Events ending in `data: [DONE]`"},
        "ignore_eos": {"type": "boolean"},
        "user": {"type": "string", "maxLength": api.MAX_NAME_CHARS},
        "frequency_penalty": {"enum": [0], "description": "not supported beyond 0"},
        "presence_penalty": {"enum": [0], "description": "not supported beyond 0"},
    }


def _post(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "the completion (JSON), or its stream (text/event-stream)",
                "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": {"type": "string"}}}},
    }
    responses |= {code: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                  for code, text in _ERRORS.items()}
    return {"post": {"summary": summary, "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                     "responses": responses}}


def _get(summary: str, media: str = "application/json", auth: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        "200": {"description": summary, "content": {media: {"schema": {"type": "object" if media.endswith("json") else "string"}}}},
        "401": {"description": _ERRORS["401"]},
    }}
    if not auth:
        op["security"] = []
        del op["responses"]["401"]
    return {"get": op}


def openapi_schema(version: str, max_samples: int, context: int | None, vocab_size: int | None = None) -> dict[str, Any]:
    """The schema, with the limits of this server (`context` and `vocab_size` once the model is loaded)."""
    sampling = _sampling(max_samples, context)
    token_id: dict[str, Any] = {"type": "integer", "minimum": 0}
    if vocab_size:
        token_id["maximum"] = vocab_size - 1
    completion = {
        "type": "object", "required": ["prompt"],
        "properties": sampling | {
            "prompt": {"oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "maxItems": 1, "items": {"type": "string", "minLength": 1}},
                {"type": "array", "minItems": 1, "items": token_id},
            ]},
            "logprobs": {"type": "integer", "minimum": 0, "maximum": 5, "description": "any value returns the chosen tokens' log-probabilities"},
        },
    }
    message = {"type": "object", "required": ["role", "content"],
               "properties": {"role": {"enum": ["system", "user", "assistant"]}, "content": {"type": "string"}}}
    chat = {
        "type": "object", "required": ["messages"],
        "properties": sampling | {
            "messages": {"type": "array", "minItems": 1, "maxItems": api.MAX_MESSAGES, "items": message},
            "max_completion_tokens": sampling["max_tokens"],
            "logprobs": {"type": "boolean"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "mathassist model process", "version": version,
                 "description": f"OpenAI-compatible. Bodies: at most {api.MAX_BODY_BYTES} bytes, {api.MAX_JSON_DEPTH} levels deep, "
                                "valid Unicode (no lone surrogates)."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "the token in server.json"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["message", "type"],
                "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
                               "code": {"type": ["string", "null"]}}}}}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/health": _get("200 once the model is loaded, 503 while it loads", auth=False),
            "/openapi.json": _get("this schema", auth=False),
            "/v1/models": _get("the served model"),
            "/status": _get("model, device, memory, requests running and queued"),
            "/metrics": _get("Prometheus metrics", media="text/plain"),
            "/v1/completions": _post("complete a prompt", completion),
            "/v1/chat/completions": _post("answer a conversation", chat),
        },
    }
