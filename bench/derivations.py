"""Unfinished derivations as people type them, with the right next step known: the held-out set of
the checking benchmark (`bench.checking`).

Generated here, from a seed, in forms the embedded model's corpus (`training/corpus.py`) does not
use: no lead sentence, other variable letters, `\\[ \\]` and `$$` as well as `align*`, arithmetic
chains, equation steps written row by row. Each case is the document up to the cursor (just after
a `&=` or `=`) and the sympy value a right next step must equal; the judge is sympy, not the checker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import sympy as sp

__all__ = ["Case", "cases", "judge"]


@dataclass(frozen=True)
class Case:
    text: str  # the document up to the cursor
    language: str
    expected: Any  # sympy: what the right-hand side being typed must equal
    family: str


def _wrap(rows: list[str], rng: random.Random) -> tuple[str, str]:
    """The rows in a display block still open at the cursor (the last row ends in a relation)."""
    style = rng.choice(["align", "align", "bracket", "dollars"])
    if style == "align":
        return "\\begin{align*}\n" + " \\\\\n".join(rows), "latex"
    body = "\n".join(r.replace("&", "") + (" \\\\" if i < len(rows) - 1 else "") for i, r in enumerate(rows))
    if style == "bracket":
        return "\\[\n" + body, "latex"
    return "$$\n" + body, "markdown"


def _linear(rng: random.Random) -> tuple[list[str], Any, str]:
    v = sp.Symbol(rng.choice("xyztnab"))
    a, b, sol = rng.randint(2, 9), rng.choice([i for i in range(-12, 13) if i]), rng.randint(-9, 9)
    c = a * sol + b
    rows = [f"{a}{v} {'+' if b > 0 else '-'} {abs(b)} &= {c}"]
    if rng.random() < 0.5:
        return [*rows, f"{a}{v} &= "], sp.Integer(c - b), "equation step"
    return [*rows, f"{a}{v} &= {c - b}", f"{v} &= "], sp.Integer(sol), "equation step"


def _expand(rng: random.Random) -> tuple[list[str], Any, str]:
    v = sp.Symbol(rng.choice("xyt"))
    p, q = rng.choice([i for i in range(-9, 10) if i]), rng.choice([i for i in range(-9, 10) if i])
    product = (v + p) * (v + q)
    left = f"({v} {'+' if p > 0 else '-'} {abs(p)})({v} {'+' if q > 0 else '-'} {abs(q)})"
    middle = f"{v}^2 {'+' if q > 0 else '-'} {abs(q)}{v} {'+' if p > 0 else '-'} {abs(p)}{v} {'+' if p * q > 0 else '-'} {abs(p * q)}"
    if rng.random() < 0.5:
        return [f"{left} &= "], sp.expand(product), "expansion"
    return [f"{left} &= {middle}", "&= "], sp.expand(product), "expansion"


def _arithmetic(rng: random.Random) -> tuple[list[str], Any, str]:
    a, b, c = rng.randint(2, 19), rng.randint(2, 19), rng.randint(1, 99)
    op = rng.choice(["\\cdot", "\\times"])
    return [f"{a} {op} {b} + {c} &= {a * b} + {c}", "&= "], sp.Integer(a * b + c), "arithmetic"


def _fractions(rng: random.Random) -> tuple[list[str], Any, str]:
    a, b, c, d = rng.randint(1, 7), rng.randint(2, 9), rng.randint(1, 7), rng.randint(2, 9)
    middle = f"\\frac{{{a * d} + {c * b}}}{{{b * d}}}"
    return [f"\\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}} &= {middle}", "&= "], sp.Rational(a, b) + sp.Rational(c, d), "fractions"


def _derivative(rng: random.Random) -> tuple[list[str], Any, str]:
    x = sp.Symbol("x")
    n, k = rng.randint(2, 5), rng.randint(2, 9)
    f = x**n + k * x
    return [f"\\frac{{d}}{{dx}}\\left(x^{n} + {k}x\\right) &= "], sp.diff(f, x), "derivative"


FAMILIES = (_linear, _expand, _arithmetic, _fractions, _derivative)


def cases(count: int, seed: int = 2026) -> list[Case]:
    """`count` unfinished derivations, families in turn."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        rows, expected, family = FAMILIES[i % len(FAMILIES)](rng)
        text, language = _wrap(rows, rng)
        out.append(Case(text, language, expected, family))
    return out


def judge(suggestion: str | None, case: Case) -> str:
    """`none` (nothing shown), `right` (sympy: equal to the expected value), or `wrong` (anything else
    shown: a different value, or text that is not a readable formula)."""
    if not suggestion or not suggestion.strip():
        return "none"
    from checker._read import Unreadable, read

    value = suggestion.split("\\\\")[0].split("&")[0].strip().rstrip(".,")
    try:
        got = read(value)
        return "right" if sp.simplify(got - case.expected) == 0 else "wrong"
    except (Unreadable, TypeError, ValueError):
        return "wrong"
