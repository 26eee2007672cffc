"""Solve a problem through the shared process: one code path for `mathassist solve` and `%%solve`.

The prompt comes from the model's family (`mathcore.prompts`), the samples stream back in one
batched request (n = samples), and `mathcore.solution` extracts answers and votes. A
KeyboardInterrupt while streaming closes the stream (the server cancels the generation) and
is re-raised after `on_interrupt` has seen the partial result.
"""

from __future__ import annotations

from collections.abc import Callable

from mathcore.prompts import family_of, solve_prompt
from mathcore.sampling import SamplingParams
from mathcore.solution import SolveResult, solve_result
from model_server.client._sync import Client

__all__ = ["solve"]


def solve(
    client: Client,
    problem: str,
    params: SamplingParams,
    on_text: Callable[[list[str]], None] | None = None,
    on_interrupt: Callable[[SolveResult], None] | None = None,
) -> SolveResult:
    """Stream a solution (or `params.samples` of them); `on_text` sees the texts so far."""
    model = client.model()
    prompt = solve_prompt(problem, family_of(model))
    run = params if params.stop else params.replace(stop=list(prompt.stop))
    texts = [""] * params.samples
    reasons: list[str | None] = [None] * params.samples
    try:
        with client.stream(prompt.text, run) as deltas:
            for d in deltas:
                texts[d.index] += d.text
                if d.finish_reason:
                    reasons[d.index] = d.finish_reason
                if on_text is not None and d.text:
                    on_text(texts)
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt(solve_result(problem, [t.strip() for t in texts], params, model, True, reasons))
        raise
    return solve_result(problem, [t.strip() for t in texts], params, model, False, reasons)
