"""What OpenAI-compatible servers other than ours do differently, and what the client does instead.

The client speaks the OpenAI API, so `MATHASSIST_URL` can point it at vLLM, TGI or llama.cpp. But
"compatible" servers differ where the API leaves room, and each difference below would otherwise
be a failure or, worse, a silently different result:

- `n` ignored, one choice per request (llama-cpp-python's server): the samples are asked for one
  at a time, each with its own seed, and a note says so once.
- sampler defaults of its own unless sent (llama-cpp-python: top-k 40, min-p 0.05, repeat penalty
  1.1): the neutral values are sent, so greedy is the model's own argmax and sampling its own
  distribution.
- one fixed seed for every request without one (llama-cpp-python): one-at-a-time samples always
  carry a seed, a random one when none was asked for.
- no token log-probabilities: candidates keep the order sampled, and a note says so once.
- a stream that ends without a finish reason (llama-cpp-python with `interrupt_requests` on, when
  another request interrupts it): ServerError says so; the cut text is never returned as whole.
- no `/health` (llama-cpp-python): `wait_ready` takes an answering `/v1/models` as ready.
- no `/status` (every server but ours): `status()` gives its URL and model.

A server is recognised by its model card's `owned_by` (`/v1/models`, asked once anyway for the
model's id). An unknown server is taken at its word, and one that returns fewer choices than asked
is noticed when it does. A degradation is a `note`: one sentence saying what is missing and what
the client does instead, recorded once per client (`BaseClient.notes`) for the front end to show.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from mathcore.sampling import SamplingParams
from model_server.client._errors import ServerError
from model_server.client._wire import Choice, Completion, Delta

__all__ = [
    "GENERIC",
    "LLAMA_CPP_PYTHON",
    "OURS",
    "Dialect",
    "Streamed",
    "dialect_of",
    "merged",
    "no_logprobs_note",
    "one_at_a_time",
    "samples_note",
]


@dataclass(frozen=True)
class Dialect:
    """How a server reads a request: whether it honours `n`, which of its defaults must be sent
    as neutral values, and what stands for "no top-k" (None: leave the field out)."""

    name: str
    samples: bool = True
    neutral: tuple[tuple[str, object], ...] = ()
    top_k_off: int | None = None

    def without_samples(self) -> Dialect:
        return replace(self, samples=False)


OURS = Dialect("the mathassist model process")
GENERIC = Dialect("the server")
LLAMA_CPP_PYTHON = Dialect("llama-cpp-python's server", samples=False, neutral=(("repeat_penalty", 1.0), ("min_p", 0.0)), top_k_off=0)
_BY_OWNER = {"mathassist": OURS, "vllm": Dialect("vLLM"), "me": LLAMA_CPP_PYTHON}


def dialect_of(owned_by: object) -> Dialect:
    """The dialect of a server whose model card says `owned_by` (GENERIC when unknown)."""
    return _BY_OWNER.get(owned_by, GENERIC) if isinstance(owned_by, str) else GENERIC


def one_at_a_time(params: SamplingParams) -> list[SamplingParams]:
    """The samples of `params` as single-sample requests with seeds seed, seed + 1, ... (as the tool
    loop numbers them); from a random seed when none was asked for, since an engine may use one
    fixed seed for every request that has none, and the samples would all be the same."""
    base = params.seed if params.seed is not None else secrets.randbelow(2**31)
    return [params.replace(samples=1, seed=base + i) for i in range(params.samples)]


def samples_note(dialect: Dialect, url: str, asked: int, got: int | None = None) -> str:
    """The one sentence for a server that ignores `n` (`got`: the choices it returned, when it was found out)."""
    what = f"returned {got} of the {asked} samples asked for" if got is not None else "gives one sample per request"
    return (f"{dialect.name} at {url} {what} (it ignores `n`): the samples are asked for one at a time, "
            "each with its own seed, which takes longer")


def no_logprobs_note(dialect: Dialect, url: str) -> str:
    return (f"{dialect.name} at {url} gives no token log-probabilities: candidates are not ranked by likelihood "
            "(they keep the order they were sampled in)")


def merged(parts: list[Completion]) -> Completion:
    """The completions of one-at-a-time requests as one, its choices numbered in request order."""
    choices = [Choice(i, c.text, c.finish_reason, c.logprob, c.tokens) for i, c in enumerate(c for p in parts for c in p.choices)]
    return Completion(parts[0].model, tuple(choices), parts[0].prompt_tokens, sum(p.completion_tokens for p in parts))


class Streamed:
    """One streamed request's samples: numbered from `offset` (where earlier requests of the same
    call left off), and checked at the end: a sample that streamed but never finished was cut short."""

    def __init__(self, dialect: Dialect, url: str, offset: int) -> None:
        self.dialect, self.url, self.offset = dialect, url, offset
        self.started: set[int] = set()
        self.finished: set[int] = set()

    def see(self, d: Delta) -> Delta:
        self.started.add(d.index)
        if d.finish_reason:
            self.finished.add(d.index)
        return Delta(d.index + self.offset, d.text, d.finish_reason) if self.offset else d

    def count(self) -> int:
        """The samples this request gave; raises ServerError if one of them stopped without a finish reason."""
        cut = sorted(self.started - self.finished)
        if cut:
            raise ServerError(f"{self.dialect.name} at {self.url} ended sample {cut[0] + self.offset + 1} before it finished "
                              "(no finish reason): another request interrupted it; llama-cpp-python's server does so "
                              "unless started with --interrupt_requests False")
        return len(self.started)
