"""Are two final answers the same mathematics? Stricter than the usual checkers, and never slow.

Read with the checker's parser (latex2sympy2_extended, `checker._read`), without evaluating
anything while reading. DeepSeekMath's own checker and Math-Verify accept some wrong answers:
`1/2004!` against `1/2006!` (factorials evaluated to floats that compare equal), `[2,5)` against
`(2,5)` (brackets dropped). Here numbers compare exactly as rationals (a decimal is the rational it
writes), intervals keep their brackets, and lists and sets of answers compare as multisets. A
number too large to compute (`10^{10^{10}}`, `1000000!`) is never computed: two such answers are
equal only when they are written the same, so nothing here waits on sympy's arithmetic. Units of
degrees are dropped; `p\\%` equals `p` and `p/100`. When an answer cannot be read, the normalised
strings must match exactly.

`equal` is pure and unbounded; `checker.answers_equal` runs it in a worker killed at a time limit.
"""

from __future__ import annotations

import math
import re
from typing import Any

from checker._read import Unreadable, parse
from mathcore.answers import strip_answer

__all__ = ["equal"]

MAX_DIGITS = 2000  # a number with more digits than this is compared as written, never computed
_OR = re.compile(r"\\text\{\s*(?:or|and)\s*\}|\\(?:quad|qquad)|\bor\b|\band\b")
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|\\degree|°")
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d.])")


def _normal(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _tidy(text: str) -> str:
    t = strip_answer(text)
    t = re.sub(r"^\\\{(.*)\\\}$", r"\1", t.strip())  # a set is compared as the list of its members
    t = _DEGREES.sub("", t)
    t = re.sub(r"\\text\{\s*\}", "", t)
    return _OR.sub(",", t).strip()


def _plus_minus(text: str) -> str:
    """`1 \\pm \\sqrt{2}` is the list of its two values."""
    if text.count("\\pm") != 1 or "," in text:
        return text
    return text.replace("\\pm", "+") + ", " + text.replace("\\pm", "-")


def _items(text: str) -> list[str]:
    """Top-level comma-separated items; `1,000` is one number."""
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    out, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    items = [re.sub(r"^\s*[a-zA-Z]\s*=\s*", "", p).strip() for p in out]  # `x = 3`: the value
    return [p for p in items if p]


def _interval(s: str) -> tuple[str, str, str, str] | None:
    m = re.fullmatch(r"\s*([\[(])([^,]+),([^,]+)([\])])\s*", s)
    return (m.group(1), m.group(2), m.group(3), m.group(4)) if m else None


def _too_big(expr: Any) -> bool:
    """Whether computing `expr` exactly would take more than MAX_DIGITS digits somewhere."""
    import sympy as sp

    for node in sp.preorder_traversal(expr):
        try:
            if isinstance(node, sp.Pow) and node.base.is_number and node.exp.is_number:
                if _too_big(node.exp) or _too_big(node.base):
                    return True
                base = abs(complex(node.base))
                if base > 1 and abs(complex(node.exp)) * math.log10(base) > MAX_DIGITS:
                    return True
            elif isinstance(node, sp.factorial | sp.factorial2 | sp.gamma) and node.args[0].is_number and (
                    _too_big(node.args[0]) or abs(complex(node.args[0])) > MAX_DIGITS / 3):
                return True
        except (TypeError, ValueError, OverflowError):
            return True  # could not even size it: do not compute it
    return False


def _exact(expr: Any) -> Any:
    """Evaluate a small tree, with every decimal as the rational it writes (`0.33` is 33/100)."""
    import sympy as sp

    expr = expr.doit() if hasattr(expr, "doit") else expr
    return expr.xreplace({f: sp.Rational(str(f)) for f in expr.atoms(sp.Float)})


def _values(text: str) -> list[Any] | None:
    """The readings of one item: one, or two for a percentage (`p` and `p/100`); None if unreadable."""
    import sympy as sp

    percent = re.search(r"\\?%\s*$", text)
    core = text[: percent.start()] if percent else text
    try:
        expr = parse(core, evaluate=False, thousands=True)  # `1{,}000` in an answer groups thousands, as `1,000` does
    except Unreadable:
        return None
    if isinstance(expr, sp.Eq) and isinstance(expr.lhs, sp.Symbol):
        expr = expr.rhs
    if not isinstance(expr, sp.Expr):
        return None
    if percent:
        return [expr, sp.Mul(expr, sp.Rational(1, 100), evaluate=False)]
    return [expr]


def _same_expr(a: Any, b: Any) -> bool:
    import sympy as sp

    if _too_big(a) or _too_big(b):
        return bool(a == b)  # written the same (as parsed): equal; otherwise not shown equal
    try:
        with sp.evaluate(True):
            return bool(sp.simplify(_exact(a) - _exact(b)) == 0)
    except Exception:  # sympy fails on exotic input; then the answers are not shown equal
        return False


def _same_value(a: str, b: str) -> bool:
    if _normal(a) == _normal(b):
        return True
    va, vb = _values(a), _values(b)
    if va is None or vb is None:
        return False
    return any(_same_expr(x, y) for x in va for y in vb)


def equal(a: str, b: str) -> bool:
    """True when the two answers denote the same value, interval, or multiset of values."""
    a, b = _plus_minus(_tidy(a)), _plus_minus(_tidy(b))
    if _normal(a) == _normal(b):
        return True
    ia, ib = _interval(a), _interval(b)
    if ia or ib:
        if not (ia and ib) or (ia[0], ia[3]) != (ib[0], ib[3]):
            return False
        return _same_value(ia[1], ib[1]) and _same_value(ia[2], ib[2])
    xs, ys = _items(a), _items(b)
    if len(xs) != len(ys) or not xs:
        return False
    remaining = list(ys)
    for x in xs:
        match = next((y for y in remaining if _same_value(x, y)), None)
        if match is None:
            return False
        remaining.remove(match)
    return True
