"""%%solve in a real Jupyter kernel (nbclient), against the session's model process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from model_server.client import Endpoint, stop_process
from model_server.discovery import read_info
from tests.conftest import RunningServer
from tests.scripted_server import scripted_server

LINEAR = "Solve for $x$: $3x + 5 = 20$."


class Kernel:
    """One kernel for a sequence of cells; `run` returns the cell's outputs."""

    def __init__(self) -> None:
        self.nb = nbformat.v4.new_notebook()
        self.client = NotebookClient(self.nb, kernel_name="python3", timeout=120, allow_errors=True)

    def run(self, source: str) -> list[dict[str, Any]]:
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return list(cell.outputs)


@pytest.fixture
def kernel(use_server: RunningServer) -> Iterator[Kernel]:
    k = Kernel()
    with k.client.setup_kernel():
        assert k.run("%load_ext ipython_ext") == []
        yield k


def text_of(outputs: list[dict[str, Any]], mime: str = "text/plain") -> str:
    parts = [o.get("text", "") for o in outputs if o["output_type"] == "stream"]
    parts += [o["data"].get(mime, "") for o in outputs if o["output_type"] in ("execute_result", "display_data")]
    return "\n".join(parts)


def markdown_of(outputs: list[dict[str, Any]]) -> str:
    """The Markdown of the cell's value (a SolveResult)."""
    return str(next(o for o in outputs if o["output_type"] == "execute_result")["data"]["text/markdown"])


@contextlib.contextmanager
def scripted_kernel(monkeypatch: pytest.MonkeyPatch, replies: list[str], setup: str) -> Iterator[tuple[Kernel, list[str]]]:
    """A kernel whose %%solve talks to a scripted OpenAI-compatible server (MATHASSIST_URL), with
    `setup` run first; yields the kernel and the prompts the server received."""
    with scripted_server(replies) as (url, prompts):
        monkeypatch.setenv("MATHASSIST_URL", url)
        k = Kernel()
        with k.client.setup_kernel():
            k.run(setup)
            yield k, prompts


def value(kernel: Kernel, expr: str) -> Any:
    return json.loads(text_of(kernel.run(f"import json; print(json.dumps({expr}))")))


def test_solve_streams_markdown_with_the_boxed_answer(kernel: Kernel) -> None:
    out = kernel.run(f"%%solve\n{LINEAR}")
    result = [o for o in out if o["output_type"] == "execute_result"]
    assert len(result) == 1
    md = result[0]["data"]["text/markdown"]
    assert "**Answer:** $5$" in md and "\\boxed{5}" in md
    assert any(o["output_type"] == "display_data" for o in out)  # the streaming display
    assert value(kernel, "_.answer") == "5"


def test_config_sets_a_default_and_a_flag_overrides_it(kernel: Kernel) -> None:
    kernel.run("%config SolveMagics.temperature = 0.3\n%config SolveMagics.top_k = 5")
    kernel.run(f"%%solve --top-k 7 -n 40 --seed 1\n{LINEAR}")
    params = value(kernel, "_.params.to_dict()")
    assert (params["temperature"], params["top_k"], params["max_new_tokens"], params["seed"]) == (0.3, 7, 40, 1)
    assert "0.3" in text_of(kernel.run("%solve_config"))


def test_a_request_beyond_the_demo_model_is_declined_in_one_line(kernel: Kernel) -> None:
    kernel.run("%%solve\nWrite a short story about a dragon.")
    assert value(kernel, "_.answer") is None and "DeepSeekMath" in value(kernel, "_.declined")
    md = value(kernel, "_._repr_markdown_()")
    assert "**Declined:** the demo model cannot solve this kind of problem" in md and "**Answer:**" not in md


def test_solve_status_shows_the_model_process(kernel: Kernel) -> None:
    status = text_of(kernel.run("%solve_status"))
    assert "embedded" in status and "running" in status and "queued" in status


def test_four_samples_vote_adds_up_to_four(kernel: Kernel) -> None:
    kernel.run(f"%%solve --samples 4 -t 0.8 --seed 3\n{LINEAR}")
    assert value(kernel, "len(_.samples)") == 4
    assert value(kernel, "sum(v.count for v in _.votes)") == 4
    assert value(kernel, "_.votes[0].answer") == value(kernel, "_.answer")


def test_latex_reaches_the_model_unchanged(kernel: Kernel) -> None:
    problem = "Compute $\\frac{1}{2} + \\frac{1}{3}$ where $x$ and {y} stay {literal} $HOME."
    kernel.run("y = 'EXPANDED'; literal = 'EXPANDED'")
    kernel.run(f"%%solve -n 8\n{problem}")
    assert value(kernel, "_.problem").rstrip("\n") == problem  # IPython ends a cell body with a newline


def test_interrupt_cancels_the_generation_and_raises_keyboard_interrupt(kernel: Kernel, use_server: RunningServer) -> None:
    before = use_server.metric("mathassist_requests_cancelled_total")
    prompts = use_server.metric("mathassist_prompt_tokens_total")

    def interrupt_when_streaming() -> None:
        deadline = time.monotonic() + 60
        while use_server.metric("mathassist_prompt_tokens_total") == prompts and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        os.kill(kernel.client.km.provisioner.pid, signal.SIGINT)  # what Jupyter's interrupt button sends

    threading.Thread(target=interrupt_when_streaming, daemon=True).start()
    # eight samples: the stream lasts as long as the longest, seconds even where one would end early
    out = kernel.run("%%solve -t 1.5 -n 3000 --samples 8 --seed 9\nWrite a very long story about numbers.")
    errors = [o for o in out if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "KeyboardInterrupt"
    assert len(errors[0]["traceback"]) == 1 and "partial solution is above" in errors[0]["traceback"][0]
    assert "(interrupted)" in json.dumps(out)
    deadline = time.monotonic() + 3
    while use_server.metric("mathassist_requests_cancelled_total") < before + 1:
        assert time.monotonic() < deadline, "the model process never saw the cancellation"
        time.sleep(0.05)
    use_server.wait_idle(timeout=2)
    assert value(kernel, "1 + 1") == 2  # the kernel is alive


@pytest.mark.slow
def test_load_ext_mathassist_shows_the_process_starting_then_solves(own_runtime: Path) -> None:
    tmp_path = own_runtime  # no process runs there yet: the kernel starts one
    k = Kernel()
    try:
        with k.client.setup_kernel():
            assert k.run("%load_ext mathassist") == []
            out = k.run(f"%%solve\n{LINEAR}")
            assert "mathassist: the model process is ready (" in text_of(out, "text/markdown")  # it said "starting" meanwhile
            md = markdown_of(out)
            assert "**Answer:** $5$" in md
            assert "  \n" in md, "each step of the solution on its own line"
            empty = k.run("%%solve\n   ")
            assert [o["text"] for o in empty if o["output_type"] == "stream"] == [
                "UsageError: %%solve needs a problem in the cell body, for example: Solve for $x$: $2x + 3 = 7$.\n"]
    finally:
        info = read_info(tmp_path)
        if info is not None:
            stop_process(Endpoint(info.url, info.token, info.model, pid=info.pid))


def test_bad_flag_is_one_usage_line_and_the_kernel_lives(kernel: Kernel) -> None:
    out = kernel.run(f"%%solve --temperature 5\n{LINEAR}")
    # IPython prints a UsageError as one line on stderr, without a traceback
    stderr = [o["text"] for o in out if o["output_type"] == "stream" and o["name"] == "stderr"]
    assert stderr == ["UsageError: --temperature must be between 0 and 2 (0 means greedy), got 5\n"]
    assert not [o for o in out if o["output_type"] == "error"]
    assert value(kernel, "2 + 2") == 4


def test_unreachable_model_is_one_clear_line_and_the_kernel_lives(kernel: Kernel) -> None:
    kernel.run("import os; os.environ['MATHASSIST_URL'] = 'http://127.0.0.1:9'\n"
               "get_ipython().find_magic('solve_config', 'line').__self__._client = None")
    out = kernel.run(f"%%solve\n{LINEAR}")
    errors = [o for o in out if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["ename"] == "SolveError"
    assert len(errors[0]["traceback"]) == 1 and "MATHASSIST_URL" in errors[0]["traceback"][0]
    assert value(kernel, "3 + 3") == 6


@pytest.mark.slow
def test_solve_with_tools_shows_programs_and_outputs_and_survives_a_killed_program(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [
        "We compute the power with a program.\n```python\nprint(2**10)\n```\n", " The program printed $1024$, so the answer is $\\boxed{1024}$.",
        "An endless search.\n```python\nwhile True:\n    pass\n```\n", " It did not finish.",
    ]
    # an OpenAI-compatible server that writes programs, as DeepSeekMath-RL does
    with scripted_kernel(monkeypatch, replies, "%load_ext mathassist\n%config SolveMagics.tool_time_limit = 1.5") as (k, prompts):
        out = k.run("%%solve --tools\nCompute $2^{10}$.")
        md = markdown_of(out)
        assert "```python\nprint(2**10)\n```\n```output\n1024\n```" in md
        assert "**Answer:** $1024$" in md
        assert value(k, "[r.output for r in _.tool_runs]") == ["1024\n"]
        assert "Please integrate natural language reasoning with programs" in prompts[0]
        assert prompts[1].endswith("```output\n1024\n```\n")
        out = k.run("%%solve --tools\nFind the largest prime.")
        assert not [o for o in out if o["output_type"] == "error"]
        assert value(k, "_.tool_runs[0].error").startswith("TimeoutError: the program ran longer than 1.5 s")
        assert "Runtime errors: TimeoutError" in prompts[3]
        assert value(k, "6 * 7") == 42  # the kernel lives on


@pytest.mark.slow
def test_a_refuted_step_is_marked_with_its_counterexample_and_the_answer_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    solution = " We add first: $17 + 25 = 42$.\nThen we multiply: $42 \\cdot 3 = 136$.\nSo the answer is $\\boxed{136}$."
    # a model that writes a wrong step, as a 7B model sometimes does
    with scripted_kernel(monkeypatch, [solution, solution], "%load_ext mathassist") as (k, _):
        out = k.run("%%solve\nCompute $(17 + 25) \\cdot 3$.")
        md = markdown_of(out)
        assert "> ⚠ **refuted:** $42 \\cdot 3 = 136$: the left side is 126 and the right side is 136" in md
        assert md.index("$42 \\cdot 3 = 136$.") < md.index("⚠ **refuted:**") < md.index("So the answer is")
        assert "**Answer:** $136$ ⚠ this solution has 1 refuted step(s)" in md
        assert md.count("⚠ **refuted:**") == 1  # the right step is not marked
        assert value(k, "[(c.step, c.verdict) for c in _.checks]") == [["17 + 25 = 42", "verified"], ["42 \\cdot 3 = 136", "wrong"]]
        out = k.run("%%solve --no-check\nCompute $(17 + 25) \\cdot 3$.")
        md = markdown_of(out)
        assert "refuted" not in md


def test_sandbox_limits_default_to_the_environment_as_in_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipython_ext.magics import SolveMagics

    monkeypatch.setenv("MATHASSIST_SANDBOX_TIME", "3.5")
    monkeypatch.setenv("MATHASSIST_SANDBOX_MEMORY", "256")
    magics = SolveMagics(shell=None)
    assert (magics.tool_time_limit, magics.tool_memory_limit) == (3.5, 256)
    monkeypatch.delenv("MATHASSIST_SANDBOX_TIME")
    monkeypatch.delenv("MATHASSIST_SANDBOX_MEMORY")
    assert (SolveMagics(shell=None).tool_time_limit, SolveMagics(shell=None).tool_memory_limit) == (10.0, 1024)
