"""One validated value for sampling parameters, and the one table that describes them.

`PARAMS` is the single source of every parameter's names (CLI and `%%solve` flags, the HTTP
field, the editor setting), range, default and help text. The CLI builds its flags from it, the
magic its flags and traits, the language server its settings keys, the model process its
OpenAPI limits, and a test holds the VS Code `package.json` to it.

Every boundary (the HTTP body, the CLI flags, the `%%solve` flags, the language server's
settings) builds a `SamplingParams` through `SamplingParams.create(...)`; it raises
`InvalidParameter` naming the field (with the name the user typed at that boundary) and its
allowed range. Code behind a boundary takes the value as given and never re-validates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "MAX_SAMPLES",
    "MAX_STOPS",
    "MAX_STOP_CHARS",
    "PARAMS",
    "SEED_MAX",
    "SEED_MIN",
    "InvalidParameter",
    "Param",
    "SamplingParams",
]

MAX_SAMPLES = 16  # samples of one request, and the rows the model process batches by default (--max-batch)
MAX_STOPS = 16
MAX_STOP_CHARS = 256
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # a 64-bit integer, as OpenAI and vLLM take it


class InvalidParameter(ValueError):
    """A sampling parameter is out of range; `param` is the name the user gave it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Param:
    """One sampling parameter as every boundary names and bounds it."""

    name: str  # the field of SamplingParams
    flag: str  # `mathassist solve` and `%%solve`
    short: str | None
    api: str  # the OpenAI/vLLM body field
    setting: str  # the language server's and VS Code's key
    integer: bool
    default: Any
    minimum: float | None
    maximum: float | None
    help: str
    exclusive_minimum: bool = False
    note: str = ""  # what a special value means, added to range errors

    def flags(self) -> list[str]:
        """The short and long flag, as `mathassist solve` and `%%solve` take them."""
        return [self.flag] if self.short is None else [self.short, self.flag]

    def help_line(self) -> str:
        """What it does, its range and its default, for --help."""
        default = "random" if self.default is None else f"{self.default:g}" if isinstance(self.default, float) else str(self.default)
        return f"{self.help}; {self.range_text()} (default {default})"

    def range_text(self, maximum: float | None = None) -> str:
        """The allowed range in words, as errors and help texts give it."""
        high = self.maximum if maximum is None else maximum
        if self.name == "seed":
            return f"a 64-bit integer, between {SEED_MIN} and {SEED_MAX}"
        if self.exclusive_minimum:
            return f"in ({self.minimum:g}, {high:g}]"
        if high is not None:
            return f"between {self.minimum:g} and {high:g}"
        if self.minimum == 0 and self.integer:
            return "an integer >= 0"
        return f"at least {self.minimum:g}"


PARAMS: tuple[Param, ...] = (
    Param("temperature", "--temperature", "-t", "temperature", "temperature", False, 0.0, 0, 2,
          "sampling temperature; 0 is greedy decoding, as DeepSeekMath is evaluated", note=" (0 means greedy)"),
    Param("top_k", "--top-k", "-k", "top_k", "topK", True, 0, 0, None,
          "sample only among the k most likely tokens; 0 turns it off", note=" (0 turns it off)"),
    Param("top_p", "--top-p", "-p", "top_p", "topP", False, 1.0, 0, 1,
          "nucleus sampling: the most likely tokens whose probabilities add up to p", exclusive_minimum=True),
    Param("max_new_tokens", "--max-new-tokens", "-n", "max_tokens", "maxNewTokens", True, 1024, 1, None,
          "tokens to generate at most (DeepSeekMath's evaluation uses 1024)"),
    Param("samples", "--samples", "-s", "n", "samples", True, 1, 1, MAX_SAMPLES,
          "independent samples; more than one votes on the answer (maj@k)"),
    Param("seed", "--seed", None, "seed", "seed", True, None, SEED_MIN, SEED_MAX,
          "same seed, same parameters, same model: same text"),
)
_BY_NAME = {p.name: p for p in PARAMS}


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


def _checked(spec: Param, shown: str, value: Any, maximum: float | None) -> int | float:
    v: int | float = _integer(shown, value) if spec.integer else _number(shown, value)
    high = spec.maximum if maximum is None else maximum
    low_ok = spec.minimum is None or (v > spec.minimum if spec.exclusive_minimum else v >= spec.minimum)
    if not low_ok or (high is not None and v > high):
        got = f"{v:g}" if isinstance(v, float) else str(v)
        raise InvalidParameter(shown, f"{shown} must be {spec.range_text(maximum)}{spec.note}, got {got}")
    return v


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
        max_samples: int = MAX_SAMPLES,
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
        out: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key == "stop":
                out["stop"] = _stops(shown["stop"], value)
            else:
                spec = _BY_NAME[key]
                v = _checked(spec, shown[key], value, max_samples if key == "samples" else None)
                out[key] = float(v) if not spec.integer else v
        return cls(**out)

    def replace(self, **values: Any) -> SamplingParams:
        """A copy with some fields changed, validated like `create`."""
        merged = {**asdict(self), **{k: v for k, v in values.items() if v is not None}}
        return SamplingParams.create(**merged, max_samples=max(MAX_SAMPLES, merged["samples"]))

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
