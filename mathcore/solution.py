"""The result of solving a problem: samples, their answers, the vote, and how to show it.

Pure: `solve_result` turns sampled texts into a `SolveResult`; the CLI prints it as JSON or
text, and `%%solve` displays its Markdown (with `\\(..\\)`/`\\[..\\]` turned into `$` delimiters,
which Jupyter's renderer understands, and each step on its own line). With several samples the
answer says how many agree, and an answer that fewer than half agree on is flagged as unsure.

`checks` holds the derivation checker's verdicts on the equations of the shown solution (the
caller runs the checker; this module only shows them): a refuted step is marked where it stands,
with its counterexample, and the answer of a solution with a refuted step is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mathcore.answers import declined, extract_answer
from mathcore.sampling import SamplingParams
from mathcore.tools import ToolRun
from mathcore.voting import Vote, majority_vote

__all__ = ["LOW_AGREEMENT", "REFUTED_NOTE", "SolveResult", "StepCheck", "jupyter_markdown", "mark_refuted", "solve_result"]

REFUTED_NOTE = "this solution has {n} refuted step(s), marked above: do not trust this answer"
LOW_AGREEMENT = 0.5  # below this share of the samples, the voted answer is shown as unsure
_DISPLAY_BLOCK = re.compile(r"(\$\$.*?\$\$|\\\[.*?\\\]|```.*?```|\\begin\{([a-zA-Z]+\*?)\}.*?\\end\{\2\})", re.S)


def jupyter_markdown(text: str) -> str:
    """Markdown that Jupyter renders as the model wrote it.

    LaTeX delimiters it understands (`\\[x\\]` -> `$$x$$`, `\\(x\\)` -> `$x$`), and each step on its
    own line: Markdown would join single lines into one paragraph, so they end in a hard break,
    except inside display math and fenced code (programs and their output), which stay whole.
    """
    text = re.sub(r"\\\[(.+?)\\\]", lambda m: f"$${m.group(1)}$$", text, flags=re.S)
    text = re.sub(r"\\\((.+?)\\\)", lambda m: f"${m.group(1)}$", text, flags=re.S)
    parts = _DISPLAY_BLOCK.split(text)
    out = []
    for i in range(0, len(parts), 3):  # split keeps the block (i + 1) and its environment name (i + 2)
        out.append(re.sub(r"(?<=[^\n])[ \t]*\n(?!\n)", "  \n", parts[i]))  # not the line end right after a block
        if i + 1 < len(parts):
            out.append(parts[i + 1])
    return "".join(out)


@dataclass(frozen=True)
class StepCheck:
    """The checker's verdict on one equation of a solution (`line` is 1-based in the solution's text)."""

    line: int
    step: str
    verdict: str  # verified, wrong or unknown
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "step": self.step, "verdict": self.verdict, "message": self.message}


def mark_refuted(text: str, checks: Sequence[StepCheck], style: str = "markdown") -> str:
    """`text` with a line after each refuted step (after its display block, never inside one):
    `> ⚠ **refuted:** $step$: counterexample` in Markdown, `  ⚠ refuted: step: ...` in plain text."""
    wrong = [c for c in checks if c.verdict == "wrong"]
    if not wrong:
        return text
    lines = text.split("\n")
    inside = _display_lines(text)
    after: dict[int, list[str]] = {}
    for c in wrong:
        at = min(c.line, len(lines))  # 1-based: insert after this line...
        while at in inside and at < len(lines):  # ...or after the display block it is in
            at += 1
        mark = f"> ⚠ **refuted:** ${c.step}$: {c.message}" if style == "markdown" else f"  ⚠ refuted: {c.step}: {c.message}"
        after.setdefault(at, []).append(mark)
    out = []
    for i, line in enumerate(lines, start=1):
        out.append(line)
        for mark in after.get(i, []):
            out += (["", mark, ""] if style == "markdown" else [mark])
    return "\n".join(out)


def _display_lines(text: str) -> set[int]:
    """1-based numbers of the lines inside a display block or fence (not its last line)."""
    inside: set[int] = set()
    for m in _DISPLAY_BLOCK.finditer(text):
        first, last = text.count("\n", 0, m.start()) + 1, text.count("\n", 0, m.end()) + 1
        inside.update(range(first, last))
    return inside


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
    tool_runs: tuple[ToolRun, ...] = field(default=())  # the programs of the shown solution, when tools were used
    checks: tuple[StepCheck, ...] = field(default=())  # the checker's verdicts on the shown solution's equations
    declined: str | None = None  # the model's one-line reason when it declined (and so gave no answer)
    notes: tuple[str, ...] = field(default=())  # what the server lacked and what was done instead (samples one at a time)

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "text": self.text,
            "model": self.model,
            "samples": list(self.samples),
            "votes": [{"answer": v.answer, "count": v.count, "share": v.share} for v in self.votes],
            "params": self.params.to_dict(),
            "interrupted": self.interrupted,
            "unsure": self.unsure(),
            "tool_runs": [r.to_json() for r in self.tool_runs],
            "checks": [c.to_json() for c in self.checks],
            "refuted": bool(self.refuted()),
            "declined": self.declined,
            "notes": list(self.notes),
        }

    def refuted(self) -> list[StepCheck]:
        """The steps of the shown solution that the checker refuted."""
        return [c for c in self.checks if c.verdict == "wrong"]

    def agreement(self) -> tuple[int, int]:
        """How many of the samples gave the voted answer, and how many samples there were."""
        return (self.votes[0].count if self.votes else 0), len(self.samples)

    def unsure(self) -> bool:
        """Several samples, and fewer than half of them agree on the answer."""
        agree, total = self.agreement()
        return total > 1 and agree < LOW_AGREEMENT * total

    def decline_note(self) -> str:
        """One line for a declined problem: what it means, and (for the demo model) what to run instead."""
        if self.model.startswith("embedded"):
            return ("the demo model cannot solve this kind of problem; DeepSeekMath can: "
                    "run it on a GPU as README's \"DeepSeekMath on a GPU\" shows")
        return "the model gives no answer to this kind of problem (its reason is above)"

    def _repr_markdown_(self) -> str:
        parts = [jupyter_markdown(mark_refuted(self.text, self.checks))]
        if self.interrupted:
            parts.append("*(interrupted)*")
        agree, total = self.agreement()
        if self.declined is not None:
            parts.append(f"**Declined:** {self.decline_note()}.")
        if self.answer is not None:
            parts.append(f"**Answer:** ${self.answer}$" + (f" ({agree} of {total} samples agree)" if total > 1 else "")
                         + (f" ⚠ {REFUTED_NOTE.format(n=len(self.refuted()))}" if self.refuted() else ""))
        if self.unsure():
            parts.append(f"**Low agreement:** only {agree} of {total} samples give this answer; treat it as unsure "
                         "(more samples or a lower temperature may settle it).")
        if total > 1:
            rows = "\n".join(f"| ${v.answer}$ | {v.count} | {v.share:.0%} |" for v in self.votes)
            parts.append(f"| answer | votes | share |\n|---|---|---|\n{rows}")
        parts += [f"*Note: {n}.*" for n in self.notes]
        parts.append(f"<sub>{self.model}, {_params_line(self.params)}</sub>")
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"SolveResult(answer={self.answer!r}, samples={len(self.samples)}, model={self.model!r})"


def _params_line(p: SamplingParams) -> str:
    shown = {k: v for k, v in p.to_dict().items() if k != "stop"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def solve_result(
    problem: str, texts: Sequence[str], params: SamplingParams, model: str,
    interrupted: bool = False, finish_reasons: Sequence[str | None] = (), tool_runs: Sequence[Sequence[ToolRun]] = (),
    *, equal: Callable[[str, str], bool],
) -> SolveResult:
    """Vote over the samples (answers compared with `equal`); the shown solution is the first sample that gave the winning answer."""
    votes = majority_vote(texts, equal) if len(texts) > 1 else []
    answer: str | None
    shown = votes[0].members[0] if votes else 0
    best = texts[shown] if texts else ""
    answer = votes[0].answer if votes else extract_answer(best)
    runs = tuple(tool_runs[shown]) if shown < len(tool_runs) else ()
    reason = declined(best) if answer is None and not interrupted else None
    return SolveResult(problem, answer, best, tuple(texts), tuple(votes), params, model, interrupted, tuple(finish_reasons), runs,
                       declined=reason)
