"""Final-answer extraction from a model's solution text.

The DeepSeekMath models put the answer in `\\boxed{...}` (instruct, rl) or say
`The final answer is $X$` (the base model's few-shot format). Braces are matched, so
`\\boxed{\\frac{1}{2}}` gives `\\frac{1}{2}`, not `\\frac{1`.
"""

from __future__ import annotations

import re

__all__ = ["declined", "extract_answer", "extract_boxed", "strip_answer"]

_FINAL = re.compile(r"[Tt]he final answer is\s*\$(.+?)\$(?:\.|\s|$)", re.S)
# a model saying it will not (or cannot) do what was asked: no answer is better than one to another question
_DECLINE = re.compile(r"\b(?:cannot|can ?not|can't|unable to|not able to)\s+(?:solve|answer|prove|do|help with)\b", re.I)
MAX_REASON_CHARS = 400


def _braced(text: str, start: int) -> str | None:
    """The content of the brace group opening at text[start] == '{', or None if unclosed."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            continue
        if c == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return None


def extract_boxed(text: str) -> str | None:
    """The content of the last complete `\\boxed{...}` (or `\\fbox{...}`), braces matched."""
    for m in reversed(list(re.finditer(r"\\(?:boxed|fbox)\s*\{", text))):
        inner = _braced(text, m.end() - 1)
        if inner is not None:
            return inner.strip()
    return None


def extract_answer(text: str) -> str | None:
    """The final answer: the last boxed expression, else `The final answer is $X$`, else None."""
    boxed = extract_boxed(text)
    if boxed is not None:
        return boxed
    found = _FINAL.findall(text)
    return strip_answer(found[-1]) if found else None


def strip_answer(answer: str) -> str:
    """Drop decoration that never changes an answer's value: `$`, `\\text{...}` units stay."""
    a = answer.strip().strip("$").strip()
    a = re.sub(r"\\(?:left|right)(?=[()\[\]|.])", "", a)
    a = re.sub(r"\\[,;!: ]", "", a)
    a = a.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return a.rstrip(".").strip()


def declined(text: str) -> str | None:
    """The model's one-line reason when a solution (or a proof step) declines instead of answering:
    no final answer, and a sentence saying it cannot solve, answer or prove this. None otherwise."""
    if extract_answer(text) is not None:
        return None
    body = " ".join(text.replace("%", " ").split())
    match = _DECLINE.search(body)
    if match is None:
        return None
    cut = body.rfind(". ", 0, match.start())  # from the sentence that declines
    reason = body[cut + 2:] if cut >= 0 else body
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 3].rstrip() + "..."
