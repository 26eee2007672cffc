"""One validated value for sampling parameters, shared by every boundary.

The HTTP body, the CLI flags, the `%%solve` flags and the language server's settings all build a
`SamplingParams` through `SamplingParams.create(...)`; it raises `InvalidParameter` naming the
field (with the name the user typed at that boundary) and its allowed range. Code behind a
boundary takes the value as given and never re-validates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DEFAULT_MAX_SAMPLES", "MAX_STOPS", "MAX_STOP_CHARS", "SEED_MAX", "SEED_MIN", "InvalidParameter", "SamplingParams"]

DEFAULT_MAX_SAMPLES = 16
MAX_STOPS = 16
MAX_STOP_CHARS = 256
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # a 64-bit integer, as OpenAI and vLLM take it


class InvalidParameter(ValueError):
    """A sampling parameter is out of range; `param` is the name the user gave it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(name, f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidParameter(name, f"{name} must be a finite number, got {value!r}")
    return float(value)


def _integer(name: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, f"{name} must be an integer, got {value!r}")
    return value


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: greedy by default, as DeepSeekMath's own evaluation decodes.

    `temperature` 0 means greedy; `top_k` 0 means off; `seed` None means not reproducible.
    """

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    samples: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = field(default=())

    @classmethod
    def create(
        cls,
        *,
        names: dict[str, str] | None = None,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        **values: Any,
    ) -> SamplingParams:
        """Validate raw values into a `SamplingParams`.

        `names` maps field names to the names the user sees at this boundary (for example
        `{"max_new_tokens": "max_tokens", "samples": "n"}` for the HTTP API, or
        `"--top-k"` for a flag), so the error names what the user typed. Values that are None
        take the default.
        """
        shown = {f: (names or {}).get(f, f) for f in cls.__dataclass_fields__}
        unknown = set(values) - set(shown)
        if unknown:
            raise TypeError(f"unknown sampling fields: {sorted(unknown)}")
        given = {k: v for k, v in values.items() if v is not None}
        out: dict[str, Any] = {}
        if "temperature" in given:
            t = _number(shown["temperature"], given["temperature"])
            if not 0 <= t <= 2:
                raise InvalidParameter(shown["temperature"], f"{shown['temperature']} must be between 0 and 2 (0 means greedy), got {t:g}")
            out["temperature"] = t
        if "top_k" in given:
            k = _integer(shown["top_k"], given["top_k"])
            if k < 0:
                raise InvalidParameter(shown["top_k"], f"{shown['top_k']} must be an integer >= 0 (0 turns it off), got {k}")
            out["top_k"] = k
        if "top_p" in given:
            p = _number(shown["top_p"], given["top_p"])
            if not 0 < p <= 1:
                raise InvalidParameter(shown["top_p"], f"{shown['top_p']} must be in (0, 1], got {p:g}")
            out["top_p"] = p
        if "max_new_tokens" in given:
            n = _integer(shown["max_new_tokens"], given["max_new_tokens"])
            if n < 1:
                raise InvalidParameter(shown["max_new_tokens"], f"{shown['max_new_tokens']} must be at least 1, got {n}")
            out["max_new_tokens"] = n
        if "samples" in given:
            s = _integer(shown["samples"], given["samples"])
            if not 1 <= s <= max_samples:
                raise InvalidParameter(shown["samples"], f"{shown['samples']} must be between 1 and {max_samples}, got {s}")
            out["samples"] = s
        if "seed" in given:
            seed = _integer(shown["seed"], given["seed"])
            if not SEED_MIN <= seed <= SEED_MAX:
                raise InvalidParameter(shown["seed"], f"{shown['seed']} must be a 64-bit integer, between {SEED_MIN} and {SEED_MAX}, got {seed}")
            out["seed"] = seed
        if "stop" in given:
            out["stop"] = _stops(shown["stop"], given["stop"])
        return cls(**out)

    def replace(self, **values: Any) -> SamplingParams:
        """A copy with some fields changed, validated like `create`."""
        merged = {**asdict(self), **{k: v for k, v in values.items() if v is not None}}
        return SamplingParams.create(**merged, max_samples=max(DEFAULT_MAX_SAMPLES, merged["samples"]))

    def to_dict(self) -> dict[str, Any]:
        """The user-facing names and values, for display and results."""
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


def _stops(name: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) and s for s in items):
        raise InvalidParameter(name, f"{name} must be a non-empty string or a list of them")
    if len(items) > MAX_STOPS:
        raise InvalidParameter(name, f"{name} takes at most {MAX_STOPS} strings, got {len(items)}")
    if any(len(s) > MAX_STOP_CHARS for s in items):
        raise InvalidParameter(name, f"{name} strings may be at most {MAX_STOP_CHARS} characters long")
    return tuple(items)
