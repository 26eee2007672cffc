"""DeepSeekMath's tool-integrated format, as pure functions (the loop itself is in the client).

The model writes a fenced ```` ```python ```` block and generation stops at ```` ```output ````;
the runner executes the program and appends its result as
```` \\n```output\\n{result}\\n```\\n ````, then lets the model continue. As in DeepSeekMath's
evaluation code: programs are re-run statelessly (every earlier block, with its top-level
`print(` lines dropped, then the new one), a result longer than 100 characters is cut to its first
and last 50, and an error is reported as `Runtime errors: ...`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MAX_TOOL_ROUNDS", "ToolRun", "cut_output", "output_block", "pending_program", "program_to_run", "tool_rounds"]

MAX_TOOL_ROUNDS = 8
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class ToolRun:
    """One program the model wrote and what running it gave."""

    code: str
    output: str
    error: str | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def tool_rounds(value: object, name: str = "--max-tool-rounds") -> int:
    """A validated number of program runs per solution (1 to MAX_TOOL_ROUNDS); ValueError names `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOOL_ROUNDS:
        raise ValueError(f"{name} must be an integer from 1 to {MAX_TOOL_ROUNDS}, got {value!r}")
    return value


def pending_program(text: str) -> str | None:
    """The program to run: a closed ```python block that ends the text (the model stopped at ```output)."""
    blocks = list(_BLOCK.finditer(text))
    if not blocks or text[blocks[-1].end():].strip():
        return None
    return blocks[-1].group(1)


def program_to_run(earlier: list[str], new: str) -> str:
    """Earlier programs without their top-level prints, then the new one: a stateless re-run."""
    kept = ["\n".join(line for line in code.splitlines() if not line.startswith("print(")) for code in earlier]
    return "\n".join([*kept, new])


def cut_output(text: str) -> str:
    """At most 100 characters: the first 50, `...`, the last 50."""
    text = text.strip()
    return text if len(text) <= 100 else f"{text[:50]}...{text[-50:]}"


def output_block(stdout: str, error: str | None) -> str:
    """What is appended after the model's program."""
    result = f"Runtime errors: {error}" if error else stdout
    return f"\n```output\n{cut_output(result)}\n```\n"
