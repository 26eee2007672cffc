"""What flows through one engine step: the sequences, the prompts being prefilled, and the step itself.

The scheduler decides a `Step` (which sequences feed which tokens, which prompt pieces go
along), the model runner turns it into one packed forward pass and returns a `StepResult`,
and the output step turns the logits into tokens, text and events. Keeping these plain data
types apart from all three is what lets each be read and tested on its own, and what lets a
sequence feed more than one token per step (speculative drafts) without the scheduler or the
runner knowing why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model_server.drafter import PromptLookup
from model_server.requests import Request
from model_server.textstream import Detokenizer, StopText

__all__ = ["Prefill", "PromptWork", "RowWork", "Sequence", "Step", "StepResult", "ToSample"]


@dataclass(eq=False)
class Sequence:
    """One sample of a request: a row of the running batch, living in a cache slot of its own."""

    req: Request
    index: int
    seed: int
    detok: Detokenizer
    stop: StopText
    position: int  # where the next input token (`last`) is written in its slot
    last: int = 0
    logprobs: list[float] = field(default_factory=list)
    logprob: float = 0.0
    last_time: float = 0.0
    finish: str | None = None  # "stop" or "length" once complete
    lookup: PromptLookup | None = None  # its drafts' source, when the engine speculates

    @property
    def ids(self) -> list[int]:
        """The tokens generated so far."""
        return self.detok.ids


@dataclass(eq=False)
class Prefill:
    """A request whose prompt is being prefilled, chunk by chunk, in a staging slot."""

    req: Request
    done: int  # prompt tokens already in the staging slot (reused ones included)
    buffers: list[tuple[Any, Any]] | None = None  # its saved cache, filled piece by piece (None: not kept)


@dataclass(frozen=True)
class RowWork:
    """A running sequence's input for this step: `tokens` written from `position` on in `slot`."""

    slot: int
    tokens: tuple[int, ...]
    position: int


@dataclass(frozen=True)
class PromptWork:
    """Prompt tokens `[start, start + len(tokens))` of the prefill in staging slot `slot`."""

    slot: int
    start: int
    tokens: list[int]
    last: bool  # the prompt's final piece: its last token's logits give the first generated token


@dataclass(frozen=True)
class Step:
    """One forward pass: every running row's input, then pieces of the prompts being prefilled."""

    rows: list[RowWork]
    prompts: list[PromptWork]

    @property
    def decode_only(self) -> bool:
        """One token per row and no prompt: the step a CUDA graph can replay."""
        return bool(self.rows) and not self.prompts and all(len(r.tokens) == 1 for r in self.rows)


@dataclass(frozen=True)
class StepResult:
    """Logits (float32) of every row token in order, then of each final prompt piece's last token."""

    logits: Any  # [kept, vocab]
    seconds: float


@dataclass(frozen=True)
class ToSample:
    """A sequence to sample after a step: `row` is the logits row after its first input token,
    followed by one row per draft it fed (each predicts the token after that draft)."""

    seq: Sequence
    row: int
    drafts: tuple[int, ...] = ()
