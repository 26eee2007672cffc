"""The result of solving a problem: samples, their answers, the vote, and how to show it.

Pure: `solve_result` turns sampled texts into a `SolveResult`; the CLI prints it as JSON or
text, and `%%solve` displays its Markdown (with `\\(..\\)`/`\\[..\\]` turned into `$` delimiters,
which Jupyter's renderer understands).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mathcore.answers import extract_answer
from mathcore.sampling import SamplingParams
from mathcore.voting import Vote, majority_vote

__all__ = ["SolveResult", "jupyter_markdown", "solve_result"]


def jupyter_markdown(text: str) -> str:
    """LaTeX delimiters Jupyter renders: `\\[x\\]` -> `$$x$$`, `\\(x\\)` -> `$x$`."""
    text = re.sub(r"\\\[(.+?)\\\]", lambda m: f"$${m.group(1)}$$", text, flags=re.S)
    return re.sub(r"\\\((.+?)\\\)", lambda m: f"${m.group(1)}$", text, flags=re.S)


@dataclass(frozen=True)
class SolveResult:
    """What `mathassist solve` and `%%solve` return."""

    problem: str
    answer: str | None
    text: str
    samples: tuple[str, ...]
    votes: tuple[Vote, ...]
    params: SamplingParams
    model: str
    interrupted: bool = False
    finish_reasons: tuple[str | None, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "text": self.text,
            "model": self.model,
            "samples": list(self.samples),
            "votes": [{"answer": v.answer, "count": v.count, "share": v.share} for v in self.votes],
            "params": self.params.to_dict(),
            "interrupted": self.interrupted,
        }

    def _repr_markdown_(self) -> str:
        parts = [jupyter_markdown(self.text)]
        if self.interrupted:
            parts.append("*(interrupted)*")
        if self.answer is not None:
            parts.append(f"**Answer:** ${self.answer}$")
        if len(self.samples) > 1:
            rows = "\n".join(f"| ${v.answer}$ | {v.count} | {v.share:.0%} |" for v in self.votes)
            parts.append(f"| answer | votes | share |\n|---|---|---|\n{rows}")
        parts.append(f"<sub>{self.model}, {_params_line(self.params)}</sub>")
        return "\n\n".join(parts)

    def __str__(self) -> str:
        lines = [self.text.strip()]
        if self.interrupted:
            lines.append("(interrupted)")
        if len(self.samples) > 1:
            lines.append("votes: " + ", ".join(f"{v.answer} x{v.count}" for v in self.votes))
        lines.append(f"answer: {self.answer if self.answer is not None else '(none found)'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"SolveResult(answer={self.answer!r}, samples={len(self.samples)}, model={self.model!r})"


def _params_line(p: SamplingParams) -> str:
    shown = {k: v for k, v in p.to_dict().items() if k != "stop"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def solve_result(
    problem: str, texts: Sequence[str], params: SamplingParams, model: str,
    interrupted: bool = False, finish_reasons: Sequence[str | None] = (),
) -> SolveResult:
    """Vote over the samples; the shown solution is the first sample that gave the winning answer."""
    votes = majority_vote(texts) if len(texts) > 1 else []
    answer: str | None
    if votes:
        answer, best = votes[0].answer, texts[votes[0].members[0]]
    else:
        best = texts[0] if texts else ""
        answer = extract_answer(best)
    return SolveResult(problem, answer, best, tuple(texts), tuple(votes), params, model, interrupted, tuple(finish_reasons))
