"""The tool-integrated loop above the client, with a scripted completion source (the layer under
test is the loop; the sandbox is the real one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from assist import solve
from mathcore.prompts import OUTPUT_FENCE, TOOL_INSTRUCTION
from mathcore.sampling import SamplingParams
from mathcore.tools import cut_output, pending_program, program_to_run
from model_server.client import Delta


class ScriptedClient:
    """Answers each completion with the next scripted text, and records what it was asked."""

    def __init__(self, *replies: str, model: str = "deepseek-ai/deepseek-math-7b-rl") -> None:
        self.replies, self.prompts, self.params = list(replies), [], []  # type: ignore[var-annotated]
        self._model = model
        self.notes: list[str] = []

    def model(self) -> str:
        return self._model

    @contextmanager
    def stream(self, prompt: str, params: SamplingParams) -> Iterator[Iterator[Delta]]:
        self.prompts.append(prompt)
        self.params.append(params)
        text = self.replies.pop(0)
        yield iter([Delta(0, text[:5], None), Delta(0, text[5:], "stop")])


FIRST = "We add the numbers with a program.\n```python\nx = 2 + 3\nprint(x)\n```\n"


@pytest.mark.slow  # its programs run in the sandbox: a process each
def test_a_program_runs_and_its_output_is_appended_in_deepseeks_format() -> None:
    client = ScriptedClient(FIRST, " The program printed $5$, so the answer is $\\boxed{5}$.")
    result = solve(client, "Compute $2 + 3$.", SamplingParams(), tools=True)  # type: ignore[arg-type]
    first, second = client.prompts
    assert first == f"User: Compute $2 + 3$.\n{TOOL_INSTRUCTION}\n\nAssistant:"
    assert second == first + FIRST.rstrip() + "\n```output\n5\n```\n"
    assert OUTPUT_FENCE in client.params[0].stop and "\nUser:" in client.params[0].stop
    assert result.answer == "5" and result.text.endswith("$\\boxed{5}$.")
    assert [(r.code, r.output, r.error) for r in result.tool_runs] == [("x = 2 + 3\nprint(x)\n", "5\n", None)]
    assert result.to_json()["tool_runs"][0]["seconds"] > 0


@pytest.mark.slow  # its programs run in the sandbox: a process each
def test_programs_rerun_statelessly_and_errors_are_reported_as_runtime_errors() -> None:
    client = ScriptedClient(FIRST, "\n```python\nprint(x * 10)\n```\n", "\n```python\nprint(x / 0)\n```\n", " Done: $\\boxed{50}$.")
    result = solve(client, "q", SamplingParams(), tools=True, max_tool_rounds=3)  # type: ignore[arg-type]
    assert [r.output for r in result.tool_runs] == ["5\n", "50\n", ""]
    assert result.tool_runs[2].error == "ZeroDivisionError: division by zero"
    assert client.prompts[3].endswith("```output\nRuntime errors: ZeroDivisionError: division by zero\n```\n")


@pytest.mark.slow  # its programs run in the sandbox: a process each
def test_rounds_are_capped_and_the_last_program_is_not_run() -> None:
    program = "\n```python\nprint(1)\n```\n"
    client = ScriptedClient(program, program, program)
    result = solve(client, "q", SamplingParams(), tools=True, max_tool_rounds=2)  # type: ignore[arg-type]
    assert len(result.tool_runs) == 2 and len(client.prompts) == 3
    assert result.text.count("```output") == 2


def test_without_tools_nothing_runs() -> None:
    client = ScriptedClient(FIRST)
    result = solve(client, "q", SamplingParams())  # type: ignore[arg-type]
    assert result.tool_runs == () and len(client.prompts) == 1 and OUTPUT_FENCE not in client.params[0].stop


@pytest.mark.slow  # its programs run in the sandbox: a process each
def test_each_sample_is_its_own_conversation_with_its_own_seed() -> None:
    client = ScriptedClient(FIRST, " $\\boxed{5}$", FIRST, " $\\boxed{5}$")
    result = solve(client, "q", SamplingParams(samples=2, temperature=0.7, seed=10), tools=True)  # type: ignore[arg-type]
    assert [p.seed for p in client.params] == [10, 10, 11, 11] and all(p.samples == 1 for p in client.params)
    assert result.answer == "5" and len(result.samples) == 2


def test_format_pieces() -> None:
    assert pending_program("text\n```python\nprint(1)\n```\n") == "print(1)\n"
    assert pending_program("```python\nprint(1)\n```\n```output\n1\n```\nSo 1.") is None
    assert program_to_run(["a = 1\nprint(a)\n", "b = a + 1\nprint(b)"], "print(a + b)") == "a = 1\nb = a + 1\nprint(a + b)"
    assert cut_output("1" * 60 + "2" * 60) == "1" * 50 + "..." + "2" * 50
