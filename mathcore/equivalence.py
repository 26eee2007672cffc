"""Are two final answers the same mathematics? (sympy, stricter than the usual checkers)

DeepSeekMath's own checker and Math-Verify accept some wrong answers: `1/2004!` against
`1/2006!` (factorials evaluated to floats that compare equal), `[2,5)` against `(2,5)`
(brackets dropped). Here numbers compare exactly as rationals where they are rational, factorials
stay symbolic, intervals keep their brackets, and lists of answers compare as multisets.
When an answer cannot be parsed, the normalised strings must match exactly.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from mathcore.answers import strip_answer

__all__ = ["answers_equal", "to_sympy"]

_TRANSFORMS = (*standard_transformations, implicit_multiplication_application, convert_xor)
_LOCALS = {name: sp.Symbol(name) for name in "abcdefghijklmnopqrstuvwxyz" if name not in "e"}
_LOCALS |= {"pi": sp.pi, "oo": sp.oo, "sqrt": sp.sqrt, "factorial": sp.factorial, "e": sp.E, "I": sp.I}


def _replace_command(text: str, command: str, arity: int, template: str) -> str:
    """Rewrite `\\command{a}{b}` with brace-matched arguments into `template.format(a, b)`."""
    while (i := text.find(command + "{")) >= 0 and text[i + len(command) :].startswith("{"):
        j, args = i + len(command), []
        for _ in range(arity):
            if j >= len(text) or text[j] != "{":
                return text
            depth, k = 0, j
            while k < len(text):
                depth += {"{": 1, "}": -1}.get(text[k], 0)
                if depth == 0:
                    break
                k += 1
            if k >= len(text):
                return text
            args.append(text[j + 1 : k])
            j = k + 1
        text = text[:i] + template.format(*args) + text[j:]
    return text


def _latex_to_python(text: str) -> str:
    t = strip_answer(text)
    t = re.sub(r"\\text\{[^}]*\}", "", t)
    t = _replace_command(t, "\\frac", 2, "(({0})/({1}))")
    t = _replace_command(t, "\\sqrt", 1, "sqrt({0})")
    t = re.sub(r"\\sqrt\s*(\d+|[a-z])", r"sqrt(\1)", t)
    t = re.sub(r"\^\{([^{}]*)\}", r"**(\1)", t)
    t = re.sub(r"(\d+|[a-z]|\))!", r"factorial(\1)", t)
    replacements = {"\\cdot": "*", "\\times": "*", "\\pi": "pi", "\\infty": "oo", "^": "**", "{": "(", "}": ")", "\\": ""}
    for a, b in replacements.items():
        t = t.replace(a, b)
    return t


@lru_cache(maxsize=4096)
def to_sympy(answer: str) -> sp.Expr | None:
    """Parse one LaTeX answer (no commas) into sympy, or None when it cannot be read."""
    src = _latex_to_python(answer)
    if "=" in src:
        left, _, right = src.rpartition("=")
        if re.fullmatch(r"\s*[a-z]\s*", left):
            src = right
    try:
        expr = parse_expr(src, local_dict=dict(_LOCALS), transformations=_TRANSFORMS, evaluate=True)
    except Exception:  # sympy raises many types (SyntaxError, TokenError, TypeError...) for bad input
        return None
    return expr if isinstance(expr, sp.Expr) else None


def _same_value(a: str, b: str) -> bool:
    if _normal(a) == _normal(b):
        return True
    ea, eb = to_sympy(a), to_sympy(b)
    if ea is None or eb is None:
        return False
    try:
        return bool(sp.simplify(ea - eb) == 0)
    except Exception:  # simplify can fail on exotic input; then the answers are not shown equal
        return False


def _normal(s: str) -> str:
    return re.sub(r"\s+", "", strip_answer(s))


def _interval(s: str) -> tuple[str, str, str, str] | None:
    m = re.fullmatch(r"\s*([\[(])(.+),(.+)([\])])\s*", s)
    return (m.group(1), m.group(2), m.group(3), m.group(4)) if m else None


def answers_equal(a: str, b: str) -> bool:
    """True when the two answers denote the same value, interval, or multiset of values."""
    a, b = strip_answer(a), strip_answer(b)
    a = re.sub(r"^\\\{(.*)\\\}$", r"\1", a)
    b = re.sub(r"^\\\{(.*)\\\}$", r"\1", b)
    ia, ib = _interval(a), _interval(b)
    if ia or ib:
        if not (ia and ib) or (ia[0], ia[3]) != (ib[0], ib[3]):
            return _normal(a) == _normal(b)
        return _same_value(ia[1], ib[1]) and _same_value(ia[2], ib[2])
    xs = [re.sub(r"^[a-z]\s*=\s*", "", p) for p in re.split(r",|\\text\{ or \}|\bor\b", a) if p.strip()]
    ys = [re.sub(r"^[a-z]\s*=\s*", "", p) for p in re.split(r",|\\text\{ or \}|\bor\b", b) if p.strip()]
    if len(xs) != len(ys):
        return False
    if len(xs) == 1:
        return _same_value(xs[0], ys[0])
    remaining = list(ys)
    for x in xs:
        match = next((y for y in remaining if _same_value(x, y)), None)
        if match is None:
            return False
        remaining.remove(match)
    return True
