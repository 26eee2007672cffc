"""Solve a problem through the shared process: one code path for `mathassist solve` and `%%solve`.

It sits above the client (`model_server.client` only speaks the API) because solving also runs
programs (`sandbox`) and checks equations (`checker`).

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

With `check` (the default), the derivation checker reads the equations of the solution (each
`$a = b$`, display, chain) while it streams: each time a line completes, the text so far is checked
in a background thread (verdicts are cached, so only new steps cost anything) and `on_checks` sees
the verdicts; the result's `checks` are those of the shown solution.

Against a server that lacks something (`model_server.client._compat`: it ignores `n`, say) the
client works around it and notes what it did; the notes it made during this solve are the
result's `notes`, for the front end to show.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable

from checker import answers_equal, check_document, start
from mathcore.prompts import Prompt, family_of, solve_prompt
from mathcore.sampling import SamplingParams
from mathcore.solution import SolveResult, StepCheck, solve_result
from mathcore.tools import ToolRun, output_block, pending_program, program_to_run
from model_server.client import Client
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
    check: bool = True,
    on_checks: Callable[[list[StepCheck]], None] | None = None,
) -> SolveResult:
    """Stream a solution (or `params.samples` of them); `on_text` sees the texts so far, `on_checks`
    the checker's verdicts on the first sample's equations so far (from another thread)."""
    live = _LiveChecks(on_checks) if check else None
    if live is not None:
        shown_text = on_text

        def on_text(texts: list[str]) -> None:
            live.feed(texts[0])
            if shown_text is not None:
                shown_text(texts)

    def interrupted(partial: SolveResult) -> None:
        if on_interrupt is not None:
            on_interrupt(partial if live is None else dataclasses.replace(partial, checks=tuple(live.latest)))

    noted = len(client.notes)
    try:
        result = _solve(client, problem, params, on_text, interrupted, tools, max_tool_rounds, limits)
    finally:
        if live is not None:
            live.close()
    result = dataclasses.replace(result, notes=tuple(client.notes[noted:]))
    if not check:
        return result
    try:
        return dataclasses.replace(result, checks=tuple(solution_checks(result.text)))
    except KeyboardInterrupt:  # while the last equations were checked: the text is all there
        interrupted(dataclasses.replace(result, interrupted=True))
        raise


def solution_checks(text: str) -> list[StepCheck]:
    """The checker's verdicts on the equations of a solution (bounded in time per step)."""
    return [StepCheck(r.line, r.step, r.verdict, r.message) for r in check_document(text, "markdown", inline=True)]


class _LiveChecks:
    """Checks a streaming text whenever a line completes, in one background thread, never queueing:
    while a check runs, newer lines wait for the next one (verdicts are cached per step)."""

    def __init__(self, on_checks: Callable[[list[StepCheck]], None] | None) -> None:
        self.on_checks = on_checks
        self.latest: list[StepCheck] = []
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mathassist-check")
        self._future: concurrent.futures.Future[None] | None = self._pool.submit(start)  # workers warm while the model writes
        self._submitted = 0

    def feed(self, text: str) -> None:
        end = text.rfind("\n")
        if end <= self._submitted or (self._future is not None and not self._future.done()):
            return
        self._submitted = end
        self._future = self._pool.submit(self._check, text[:end])

    def _check(self, text: str) -> None:
        self.latest = solution_checks(text)
        if self.on_checks is not None:
            self.on_checks(self.latest)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _solve(
    client: Client,
    problem: str,
    params: SamplingParams,
    on_text: Callable[[list[str]], None] | None,
    on_interrupt: Callable[[SolveResult], None] | None,
    tools: bool,
    max_tool_rounds: int,
    limits: Limits | None,
) -> SolveResult:
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
        return solve_result(problem, [t.strip() for t in texts], params, model, False, reasons, runs, equal=answers_equal)
    except KeyboardInterrupt:  # while streaming, running a program or voting
        if on_interrupt is not None:
            on_interrupt(solve_result(problem, [t.strip() for t in texts], params, model, True, reasons, runs, equal=answers_equal))
        raise


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
