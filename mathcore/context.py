"""What surrounds the cursor in a LaTeX, Markdown or plain-text document (pure, no I/O).

The language server asks one question: "which text should the model continue, and what is
already after the cursor?" The answer, `MathContext`, holds:

- `prefix`: text before the cursor, at most `max_prefix_chars`, cut at a line start so the model
  sees whole lines; in a long document the window's start moves in steps of a sixth of that, not
  with every character typed, so consecutive keystrokes send prompts that start alike and the
  model process prefills only the new end (its prefix cache); preamble definitions (`\\newcommand`, `\\DeclareMathOperator`, ...) that fall
  outside that window are gathered into `definitions` and fed to the prompt ahead of it;
- `line_suffix` and `suffix`: the rest of the current line and up to `max_suffix_chars` after it,
  used only to trim suggestions (the models were not trained for fill-in-the-middle);
- `environment`: the innermost open math or proof environment at the cursor (`align*`, `proof`,
  `$$`, `$`, `\\[`...), and whether the cursor is in mathematics or in a proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathcore.languages import Language

__all__ = ["MATH_ENVIRONMENTS", "PROOF_ENVIRONMENTS", "MathContext", "extract_context"]

MATH_ENVIRONMENTS = frozenset({
    "align", "align*", "equation", "equation*", "gather", "gather*", "multline", "multline*", "flalign", "flalign*",
    "alignat", "alignat*", "eqnarray", "eqnarray*", "aligned", "gathered", "split", "displaymath", "math", "cases",
})
PROOF_ENVIRONMENTS = frozenset({"proof"})
THEOREM_LIKE = frozenset({"theorem", "lemma", "proposition", "corollary", "claim", "definition", "example", "exercise", "remark"})

WINDOW_STEPS = 6  # the window's start moves by max_prefix_chars / WINDOW_STEPS at a time

_DEFINITION = re.compile(
    r"^\s*\\(?:newcommand|renewcommand|providecommand|DeclareMathOperator\*?|def|let|newtheorem)\b.*$", re.M
)
_ENV = re.compile(r"\\(begin|end)\{([^}]+)\}")


@dataclass(frozen=True)
class MathContext:
    """The cursor's surroundings; see the module docstring."""

    language: Language
    prefix: str
    line_prefix: str
    line_suffix: str
    suffix: str
    previous_line: str
    environment: str | None
    in_math: bool
    in_proof: bool
    definitions: tuple[str, ...]


def _strip_comment(line: str) -> str:
    """A LaTeX line without its `%` comment (an escaped `\\%` stays)."""
    m = re.search(r"(?<!\\)%", line)
    return line[: m.start()] if m else line


def _latex_state(before: str) -> tuple[str | None, bool, bool]:
    """Innermost environment, in-math, in-proof for LaTeX text before the cursor."""
    stack: list[str] = []
    text = "\n".join(_strip_comment(line) for line in before.split("\n"))
    for m in _ENV.finditer(text):
        kind, name = m.group(1), m.group(2).strip()
        if kind == "begin":
            stack.append(name)
        elif name in stack:  # tolerate unbalanced input: close the nearest match
            del stack[len(stack) - 1 - stack[::-1].index(name) :]
    in_proof = any(e in PROOF_ENVIRONMENTS for e in stack)
    env = next((e for e in reversed(stack) if e in MATH_ENVIRONMENTS | PROOF_ENVIRONMENTS | THEOREM_LIKE), None)
    in_math = any(e in MATH_ENVIRONMENTS for e in stack)
    # display math \[ ... \] and $$ ... $$, then inline $ ... $ on the current paragraph
    last_open, last_close = text.rfind("\\["), text.rfind("\\]")
    if last_open > last_close:
        return "\\[", True, in_proof
    paragraph = text[text.rfind("\n\n") + 2 :] if "\n\n" in text else text
    dollars = re.findall(r"(?<!\\)\$\$|(?<!\\)\$", paragraph)
    if dollars.count("$$") % 2 == 1:
        return "$$", True, in_proof
    if dollars.count("$") % 2 == 1:
        return "$", True, in_proof
    return env, in_math, in_proof


def _markdown_state(before: str) -> tuple[str | None, bool, bool]:
    fenced = before.count("\n```") + (1 if before.startswith("```") else 0)
    if fenced % 2 == 1:
        return None, False, False
    if len(re.findall(r"(?<!\\)\$\$", before)) % 2 == 1:
        return "$$", True, False
    line = before[before.rfind("\n") + 1 :]
    if len(re.findall(r"(?<!\\)(?<!\$)\$(?!\$)", line)) % 2 == 1:
        return "$", True, False
    return None, False, False


def extract_context(
    text: str, line: int, character: int, language: str, max_prefix_chars: int = 3000, max_suffix_chars: int = 600
) -> MathContext:
    """The context at (line, character); positions past the end are clamped to the document."""
    lines = text.replace("\r\n", "\n").split("\n")
    line = max(0, min(line, len(lines) - 1))
    character = max(0, min(character, len(lines[line])))
    current = lines[line]
    before = "\n".join([*lines[:line], current[:character]])
    after_lines = "\n".join(lines[line + 1 :])
    prefix = before
    if len(prefix) > max_prefix_chars:
        step = max(1, max_prefix_chars // WINDOW_STEPS)
        start = -(-(len(before) - max_prefix_chars) // step) * step  # rounded up to a multiple of step
        prefix = before[start:]
        cut = prefix.find("\n")
        prefix = prefix[cut + 1 :] if 0 <= cut < len(prefix) - len(current[:character]) else prefix
    lang = Language.parse(language)
    if lang is Language.LATEX:
        env, in_math, in_proof = _latex_state(before)
    elif lang is Language.MARKDOWN:
        env, in_math, in_proof = _markdown_state(before)
    else:
        env, in_math, in_proof = None, True, "proof" in before[-2000:].lower()
    outside = before[: len(before) - len(prefix)]
    definitions = tuple(m.group(0).strip() for m in _DEFINITION.finditer(outside)) if lang is not Language.PLAINTEXT else ()
    return MathContext(
        language=lang,
        prefix=prefix,
        line_prefix=current[:character],
        line_suffix=current[character:],
        suffix=after_lines[:max_suffix_chars],
        previous_line=lines[line - 1] if line > 0 else "",
        environment=env,
        in_math=in_math,
        in_proof=in_proof,
        definitions=definitions[-40:],
    )
