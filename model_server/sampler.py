"""Pick the next token for each row of a batch, each row with its own parameters.

Temperature 0 is greedy (argmax, no division); otherwise logits are divided by the temperature,
cut by top-k and top-p, and sampled with the row's own seeded generator, so a seed reproduces a
sample whatever else shares the batch. The returned log-probability is the model's own
(untempered), which is what ranking by likelihood needs. A temperature below `GREEDY_BELOW` is
greedy too (as in vLLM): dividing by 1e-300 would overflow the logits to inf and the
probabilities to NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mathcore.sampling import SamplingParams

__all__ = ["GREEDY_BELOW", "sample_rows"]

GREEDY_BELOW = 1e-5


def sample_rows(logits: Any, params: Sequence[SamplingParams], generators: Sequence[Any]) -> tuple[list[int], list[float]]:
    """Next token and its log-probability for every row of `logits` ([rows, vocab], float32)."""
    import torch

    logp = torch.log_softmax(logits, dim=-1)
    chosen = torch.argmax(logits, dim=-1)
    for i, (p, gen) in enumerate(zip(params, generators, strict=True)):
        if p.temperature < GREEDY_BELOW:
            continue
        row = logits[i] / p.temperature
        if 0 < p.top_k < row.shape[-1]:
            kth = torch.topk(row, p.top_k).values[-1]
            row = row.masked_fill(row < kth, float("-inf"))
        if p.top_p < 1.0:
            sorted_logits, order = torch.sort(row, descending=True)
            probs = torch.softmax(sorted_logits, dim=-1)
            before = torch.cumsum(probs, dim=-1) - probs
            outside = before >= p.top_p
            outside[0] = False  # the most likely token always stays, however small top_p is
            sorted_logits = sorted_logits.masked_fill(outside, float("-inf"))
            row = torch.full_like(row, float("-inf")).scatter(0, order, sorted_logits)
        probs = torch.softmax(row, dim=-1)
        chosen[i] = torch.multinomial(probs, 1, generator=gen)[0]
    picked = logp.gather(1, chosen[:, None])[:, 0]
    return chosen.tolist(), picked.tolist()
