"""Solve a problem through the shared process: one code path for `mathassist solve` and `%%solve`.

The prompt comes from the model's family (`mathcore.prompts`), the samples stream back in one
batched request (n = samples), and `mathcore.solution` extracts answers and votes. A
KeyboardInterrupt while streaming closes the stream (the server cancels the generation) and
is re-raised after `on_interrupt` has seen the partial result.

With `tools`, DeepSeekMath's tool-integrated loop: generation stops at the ```` ```output ````
fence, the program runs in the sandbox (`sandbox.run`, never here), its output is appended in
the model's format, and generation continues, for at most `max_tool_rounds` programs. It works
against any OpenAI-compatible server (`MATHASSIST_URL`), since the programs run on this side.
Samples then run one after another (each its own conversation with the sandbox); Ctrl-C stops
the generation and kills the running program. Votes compare answers in time-bounded workers
(`checker.answers_equal`), so one odd answer cannot hang the vote.
"""

from __future__ import annotations

from collections.abc import Callable

from checker import answers_equal
from mathcore.prompts import Prompt, family_of, solve_prompt
from mathcore.sampling import SamplingParams
from mathcore.solution import SolveResult, solve_result
from mathcore.tools import ToolRun, output_block, pending_program, program_to_run
from model_server.client._sync import Client
from sandbox import Limits
from sandbox import run as run_program

__all__ = ["solve"]


def solve(
    client: Client,
    problem: str,
    params: SamplingParams,
    on_text: Callable[[list[str]], None] | None = None,
    on_interrupt: Callable[[SolveResult], None] | None = None,
    tools: bool = False,
    max_tool_rounds: int = 2,
    limits: Limits | None = None,
) -> SolveResult:
    """Stream a solution (or `params.samples` of them); `on_text` sees the texts so far."""
    model = client.model()
    prompt = solve_prompt(problem, family_of(model), tools=tools)
    run = params.replace(stop=list(dict.fromkeys([*params.stop, *prompt.stop])))
    texts = [""] * params.samples
    reasons: list[str | None] = [None] * params.samples
    runs: list[tuple[ToolRun, ...]] = [()] * params.samples
    try:
        if tools:
            for i in range(params.samples):
                one = run.replace(samples=1, seed=None if params.seed is None else params.seed + i)
                runs[i] = _tool_loop(client, prompt, one, max_tool_rounds, limits, texts, i, reasons, on_text)
        else:
            _stream_into(client, prompt.text, run, texts, reasons, on_text)
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt(solve_result(problem, [t.strip() for t in texts], params, model, True, reasons, runs, equal=answers_equal))
        raise
    return solve_result(problem, [t.strip() for t in texts], params, model, False, reasons, runs, equal=answers_equal)


def _stream_into(client: Client, prompt: str, params: SamplingParams, texts: list[str], reasons: list[str | None],
                 on_text: Callable[[list[str]], None] | None, offset: int = 0) -> None:
    with client.stream(prompt, params) as deltas:
        for d in deltas:
            texts[offset + d.index] += d.text
            if d.finish_reason:
                reasons[offset + d.index] = d.finish_reason
            if on_text is not None and d.text:
                on_text(texts)


def _tool_loop(client: Client, prompt: Prompt, params: SamplingParams, max_rounds: int, limits: Limits | None,
               texts: list[str], i: int, reasons: list[str | None], on_text: Callable[[list[str]], None] | None) -> tuple[ToolRun, ...]:
    """One sample: generate, run the program it ends with, append the output, go on."""
    runs: list[ToolRun] = []
    while True:
        _stream_into(client, prompt.text + texts[i], params, texts, reasons, on_text, offset=i)
        code = pending_program(texts[i])
        if code is None or len(runs) >= max_rounds:
            return tuple(runs)
        result = run_program(program_to_run([r.code for r in runs], code), limits or Limits.from_env())
        runs.append(ToolRun(code, result.stdout, result.error, result.seconds))
        texts[i] = texts[i].rstrip() + output_block(result.stdout, result.error)
        if on_text is not None:
            on_text(texts)
