"""Post-processing of a raw suggestion: a chain of small named filters (after Tabby's).

Each filter takes the suggestion and the cursor's `MathContext` and returns the suggestion
changed, or None to drop it. `FILTERS` is the chain, in order; `postprocess` runs it. Each
filter has golden tests in tests/mathcore/test_postprocess.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mathcore.context import MathContext

__all__ = ["FILTERS", "postprocess"]

Filter = Callable[[str, MathContext], "str | None"]

_CLOSERS = {"(": ")", "[": "]", "\\{": "\\}", "|": "|", ".": "."}


def cut_at_step_end(text: str, ctx: MathContext) -> str | None:
    """Keep one step: stop at `\\\\`, `\\end{`, a new line, or a `$` inside math.

    In inline math a `$` ends the formula; in display math (`$$`, `\\[`, `align*`...) a `$` is
    never part of the step (a stray `$.` is the model closing an inline formula it was not in).
    """
    ends = [m.start() for m in re.finditer(r"\\\\|\\end\{|\n", text)]
    if ctx.environment == "$" or (ctx.in_math and ctx.environment is not None):
        ends += [m.start() for m in re.finditer(r"(?<!\\)\$", text)]
    return text[: min(ends)] if ends else text


def trim_suffix_overlap(text: str, ctx: MathContext) -> str | None:
    """Drop the tail that the line after the cursor already has (`$`, ` \\\\`, `}`...)."""
    rest = ctx.line_suffix.rstrip()
    if not rest:
        return text
    stripped = text.rstrip()
    for k in range(min(len(rest), len(stripped)), 0, -1):
        if stripped.endswith(rest[:k]):
            return stripped[: len(stripped) - k]
    return text


def balance_braces(text: str, ctx: MathContext) -> str | None:
    """Close the groups the suggestion opens; cut at a `}` that closes more than the line has open."""
    open_before = max(0, _depth(ctx.line_prefix))
    depth, out = 0, []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            out.append(text[i : i + 2])
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0 and open_before == 0:
                break
            if depth == 0:
                open_before -= 1
            else:
                depth -= 1
        out.append(c)
        i += 1
    result = "".join(out)
    return result.rstrip() + "}" * depth if depth else result


def balance_left_right(text: str, ctx: MathContext) -> str | None:
    """Close every `\\left(` the suggestion opens with the matching `\\right)`; drop a stray `\\right`."""
    opened_before = len(re.findall(r"\\left\b", ctx.line_prefix)) - len(re.findall(r"\\right\b", ctx.line_prefix))
    stack: list[str] = []
    for m in re.finditer(r"\\(left|right)\s*(\\\{|\\\}|[()\[\]|.])", text):
        if m.group(1) == "left":
            stack.append(m.group(2))
        elif stack:
            stack.pop()
        elif opened_before > 0:
            opened_before -= 1
        else:
            return text[: m.start()].rstrip()
    return text.rstrip() + "".join(f" \\right{_CLOSERS.get(d, '.')}" for d in reversed(stack)) if stack else text


def drop_empty(text: str, ctx: MathContext) -> str | None:
    """Nothing worth showing: empty, blank, or punctuation only."""
    return text if re.search(r"[\w\\]", text) else None


def drop_repeated(text: str, ctx: MathContext) -> str | None:
    """A suggestion the document already has: the previous line again, or the text after the cursor."""
    norm = _squash(ctx.line_prefix + text)
    if norm and norm == _squash(ctx.previous_line):
        return None
    if _squash(text) and _squash(ctx.line_suffix).startswith(_squash(text)):
        return None
    return text


def strip_trailing_space(text: str, ctx: MathContext) -> str | None:
    """No trailing blanks; no leading blank after a line that already ends in one."""
    text = text.rstrip()
    if ctx.line_prefix.endswith((" ", "\t")):
        text = text.lstrip(" \t")
    return text


FILTERS: tuple[Filter, ...] = (
    cut_at_step_end,
    trim_suffix_overlap,
    balance_braces,
    balance_left_right,
    strip_trailing_space,
    drop_empty,
    drop_repeated,
)


def postprocess(text: str, ctx: MathContext, filters: tuple[Filter, ...] = FILTERS) -> str | None:
    """Run the chain; None as soon as a filter drops the suggestion."""
    current: str | None = text
    for f in filters:
        if current is None:
            return None
        current = f(current, ctx)
    return current


def _depth(text: str) -> int:
    text = re.sub(r"\\[{}]", "", text)
    return text.count("{") - text.count("}")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
