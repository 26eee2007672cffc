"""Pick the next token for every row of a batch in a few tensor operations, each row with its own parameters.

Temperature 0 is greedy (argmax, no division); otherwise logits are divided by the row's
temperature, cut by its top-k and top-p, and sampled by the Gumbel-max rule: the token whose
tempered logit plus Gumbel noise is largest, which draws exactly from the softmax. The noise is
not drawn from a generator but computed from (seed, step, token id) by a counter-based hash
(splitmix64), so a seed reproduces a sample whatever else shares the batch, and every row,
whatever its seed, is sampled in the same vectorised operations (no loop over rows, no
per-row generator, one host sync for the whole batch).

The returned log-probability is the model's own (untempered), which is what ranking by
likelihood needs. A temperature below `GREEDY_BELOW` is greedy too (as in vLLM): dividing by
1e-300 would overflow the logits to inf and the probabilities to NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mathcore.sampling import SamplingParams

__all__ = ["GREEDY_BELOW", "RowSampling", "sample_rows"]

GREEDY_BELOW = 1e-5

# splitmix64's constants, as signed 64-bit integers (torch has no unsigned 64-bit arithmetic)
_GOLDEN = 0x9E3779B97F4A7C15 - 2**64
_MIX1 = 0xBF58476D1CE4E5B9 - 2**64
_MIX2 = 0x94D049BB133111EB - 2**64
_STEP = 0xD1B54A32D192ED03 - 2**64


@dataclass(frozen=True)
class RowSampling:
    """One row's sampling state for a step: its parameters, its seed and how many tokens it has drawn."""

    params: SamplingParams
    seed: int
    step: int


def _shr(x: Any, k: int) -> Any:
    """Logical right shift of int64 (torch's `>>` is arithmetic)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def uniform_noise(seeds: Any, steps: Any, vocab: int) -> Any:
    """[rows, vocab] floats in (0, 1), a pure function of (seed, step, token id): splitmix64 of a counter."""
    import torch

    ids = torch.arange(vocab, device=seeds.device, dtype=torch.int64)
    x = seeds[:, None] * _GOLDEN + steps[:, None] * _STEP + ids[None, :] * _GOLDEN  # int64 wraps around
    x = x ^ _shr(x, 30)
    x = x * _MIX1
    x = x ^ _shr(x, 27)
    x = x * _MIX2
    x = x ^ _shr(x, 31)
    return (_shr(x, 40).to(torch.float32) + 0.5) / float(1 << 24)


def sample_rows(logits: Any, rows: Sequence[RowSampling]) -> tuple[list[int], list[float]]:
    """Next token and its log-probability for every row of `logits` ([rows, vocab], float32)."""
    import torch

    device, vocab = logits.device, logits.shape[-1]
    logp = torch.log_softmax(logits, dim=-1)
    chosen = torch.argmax(logits, dim=-1)
    hot = [i for i, r in enumerate(rows) if r.params.temperature >= GREEDY_BELOW]
    if hot:
        idx = torch.tensor(hot, device=device)
        part = [rows[i] for i in hot]
        temps = torch.tensor([r.params.temperature for r in part], device=device, dtype=torch.float32)
        scaled = logits[idx] / temps[:, None]
        top_k = [r.params.top_k if 0 < r.params.top_k < vocab else vocab for r in part]
        top_p = [r.params.top_p for r in part]
        if min(top_k) < vocab or min(top_p) < 1.0:
            sorted_logits, order = torch.sort(scaled, dim=-1, descending=True)
            rank = torch.arange(vocab, device=device)[None, :]
            outside = rank >= torch.tensor(top_k, device=device)[:, None]
            sorted_logits = sorted_logits.masked_fill(outside, float("-inf"))
            probs = torch.softmax(sorted_logits, dim=-1)
            before = torch.cumsum(probs, dim=-1) - probs
            outside = before >= torch.tensor(top_p, device=device, dtype=torch.float32)[:, None]
            outside[:, 0] = False  # the most likely token always stays, however small top_p is
            sorted_logits = sorted_logits.masked_fill(outside, float("-inf"))
            scaled = torch.full_like(scaled, float("-inf")).scatter(1, order, sorted_logits)
        seeds = torch.tensor([r.seed % 2**63 for r in part], device=device, dtype=torch.int64)
        steps = torch.tensor([r.step for r in part], device=device, dtype=torch.int64)
        gumbel = -torch.log(-torch.log(uniform_noise(seeds, steps, vocab)))
        chosen[idx] = torch.argmax(scaled + gumbel, dim=-1)
    picked = logp.gather(1, chosen[:, None])[:, 0]
    return chosen.tolist(), picked.tolist()
