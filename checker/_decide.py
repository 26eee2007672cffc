"""Decide one claim (runs in a worker process; the parent kills it at the time limit).

Refuting is numeric and certain: a point where both sides are defined and differ is a
counterexample, and nothing is called wrong without one. Points are drawn negative,
fractional, positive and complex (Maple's `testeq`), so `sqrt(x^2) = x` is refuted at x = -1
instead of being verified at positive reals. Confirming is symbolic (`simplify`) or, failing
that, agreement at every sampled point, complex ones included.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from checker._read import Unreadable, read
from mathcore.steps import Claim

__all__ = ["decide"]

REAL_POINTS = ("-2", "-1", "-1/2", "0", "1/2", "1", "3/2", "2", "3", "-7/2", "1/4", "7")  # exact: floats lose digits
COMPLEX_POINTS = ("1/2 + 3/2*I", "-5/4 + 3/4*I", "2 - I")
HUGE = 10**15  # past this, 40 digits cannot tell a difference of 1: such points are not evidence of equality
TOL = 1e-25  # relative, at 40 significant digits
DIGITS = 40
MIN_POINTS = 6


def decide(claim: Claim) -> tuple[str, str, dict[str, Any] | None]:
    """(verdict, message, counterexample)."""
    import sympy as sp

    try:
        lhs, rhs = read(claim.lhs), read(claim.rhs)
    except Unreadable as exc:  # a lone formula we cannot read claims nothing; a step we cannot read is unknown
        return ("none" if claim.kind == "lone" else "unknown"), str(exc), None
    # a derivative, integral, sum or limit is computed, not solved for: `\frac{d}{dx} \sin x = -\cos x` claims
    computed = _has_unevaluated(lhs) or _has_unevaluated(rhs)
    lhs, rhs = (e.doit() if _has_unevaluated(e) else e for e in (lhs, rhs))
    if claim.kind == "implies" and claim.premise is not None:
        return _implies(claim, lhs, rhs)
    diff = lhs - rhs
    if claim.kind == "lone" and not computed and diff.free_symbols and (claim.relation != "=" or not _identity(lhs, rhs, diff)):
        return "none", "an equation, a condition or a definition, not a claim", None
    if not lhs.free_symbols <= rhs.free_symbols and not _zero(diff):
        # `a = b = c`, `A = \pi r^2`, `\pi r^2 = 9\pi`: names and substitutions, not identities in the
        # variables. Variables that appear from nowhere (`145 = x^2 + 1`) make an identity claim: decided.
        return "unknown", "the two sides have different variables (a name or a substitution, not an identity)", None
    if claim.relation != "=":
        return _inequality(claim, lhs, rhs)
    if not (_applied_unknowns(lhs) or _applied_unknowns(rhs)) and _zero(diff, simplify=False):
        return "verified", "the two sides are equal (their difference expands to 0)", None  # milliseconds: a suggestion waits on this
    found, compared = _counterexample(lhs, rhs)
    if found is not None:
        return "wrong", _describe(found), found
    if _applied_unknowns(lhs) or _applied_unknowns(rhs):
        return ("verified", "both sides are the same expression", None) if _zero(diff) else \
            ("unknown", "it involves functions that are not defined here", None)
    if compared >= MIN_POINTS:
        return "verified", f"the two sides agree at all {compared} points tried, complex ones included", None
    if sp.simplify(diff) == 0:
        return "verified", "the two sides are equal (sympy simplifies their difference to 0)", None
    return "unknown", "too few points where both sides could be evaluated", None


def _identity(lhs: Any, rhs: Any, diff: Any) -> bool:
    """Whether a lone `lhs = rhs` holds for every value of its variables (else it is an equation)."""
    if _zero(diff, simplify=False):
        return True
    found, compared = _counterexample(lhs, rhs)
    return found is None and (compared >= MIN_POINTS or _zero(diff))


def _zero(diff: Any, simplify: bool = True) -> bool:
    """Whether `diff` is identically 0: expansion and cancellation first (milliseconds), `simplify` last."""
    import sympy as sp

    if sp.expand(diff) == 0 or (not diff.has(sp.Function) and sp.cancel(diff) == 0):
        return True
    return simplify and sp.simplify(diff) == 0


def _has_unevaluated(expr: Any) -> bool:
    import sympy as sp

    return bool(expr.atoms(sp.Derivative, sp.Integral, sp.Sum, sp.Product, sp.Limit))


def _applied_unknowns(expr: Any) -> bool:
    from sympy.core.function import AppliedUndef

    return bool(expr.atoms(AppliedUndef))


def _value(expr: Any, subs: dict[Any, Any]) -> Any:
    """The value at `subs` to DIGITS digits, or None where it is undefined or not a finite number."""
    import sympy as sp

    try:
        v = sp.N(expr.subs(subs), DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not v.is_number or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan) or not v.is_finite:
        return None
    return v


def _differ(a: Any, b: Any) -> bool:
    import sympy as sp

    return bool(abs(sp.N(a - b, DIGITS)) > TOL * (1 + abs(a) + abs(b)))


def _points(symbols: list[Any]) -> list[dict[Any, Any]]:
    return [dict(zip(symbols, values, strict=False)) for values in _values_for(len(symbols))]


@functools.lru_cache(maxsize=16)
def _values_for(count: int) -> list[tuple[Any, ...]]:
    """The sampled values for `count` variables, parsed once per worker (the same for every step)."""
    import sympy as sp

    rng = random.Random(12345)
    out = []
    for pool in (REAL_POINTS, COMPLEX_POINTS):
        for value in pool:
            out.append(tuple(sp.sympify(value if i == 0 else rng.choice(pool)) for i in range(count)))
    return out


def _counterexample(lhs: Any, rhs: Any) -> tuple[dict[str, Any] | None, int]:
    """A point where both sides are defined and differ, and how many points were compared."""
    symbols = sorted((lhs.free_symbols | rhs.free_symbols), key=str)
    if _applied_unknowns(lhs) or _applied_unknowns(rhs):
        return None, 0
    compared = 0
    for subs in _points(symbols) if symbols else [{}]:
        a, b = _value(lhs, subs), _value(rhs, subs)
        if a is None or b is None:
            continue  # undefined here: no evidence either way
        if _differ(a, b):
            return {"at": {str(s): _show(v) for s, v in subs.items()}, "left": _show(a), "right": _show(b)}, compared
        compared += 1 if abs(a) < HUGE and abs(b) < HUGE else 0
    return None, compared if symbols else compared * MIN_POINTS  # a constant compared exactly once is enough


def _show(v: Any) -> str:
    try:
        c = complex(v)
    except (TypeError, OverflowError):
        return str(v)
    if abs(c) > HUGE:
        return f"{c.real:.6g}" if c.imag == 0 else str(v)
    if abs(c.imag) < 1e-12:
        r = c.real
        return str(int(r)) if abs(r - round(r)) < 1e-9 else f"{r:.6g}"
    return f"{c.real:.6g}{c.imag:+.6g}i"


def _describe(found: dict[str, Any]) -> str:
    where = ", ".join(f"{k} = {v}" for k, v in found["at"].items())
    sides = f"the left side is {found['left']} and the right side is {found['right']}"
    return f"at {where} {sides}" if where else sides


def _implies(claim: Claim, lhs: Any, rhs: Any) -> tuple[str, str, dict[str, Any] | None]:
    import sympy as sp

    assert claim.premise is not None
    try:
        p_lhs, p_rhs = read(claim.premise[0]), read(claim.premise[1])
    except Unreadable as exc:
        return "unknown", str(exc), None
    symbols = (p_lhs.free_symbols | p_rhs.free_symbols | lhs.free_symbols | rhs.free_symbols)
    if len(symbols) != 1:
        return "unknown", "an equation step in several variables is not decided", None
    x = symbols.pop()
    solutions = sp.solve(sp.Eq(p_lhs, p_rhs), x)
    if not solutions or not all(getattr(s, "is_number", False) for s in solutions):
        return "unknown", "the previous equation could not be solved", None
    for s in solutions:
        a, b = _value(lhs, {x: s}), _value(rhs, {x: s})
        if a is not None and b is not None and _differ(a, b):
            found = {"at": {str(x): _show(sp.N(s))}, "left": _show(a), "right": _show(b)}
            return "wrong", (f"{x} = {_show(sp.N(s))} solves the previous equation but not this one: "
                             f"the left side is {found['left']} and the right side is {found['right']}"), found
    return "verified", "every solution of the previous equation solves this one", None


def _inequality(claim: Claim, lhs: Any, rhs: Any) -> tuple[str, str, dict[str, Any] | None]:
    import operator

    holds = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[claim.relation]
    symbols = sorted((lhs.free_symbols | rhs.free_symbols), key=str)
    for subs in (_points(symbols)[: len(REAL_POINTS)] if symbols else [{}]):
        a, b = _value(lhs, subs), _value(rhs, subs)
        if a is None or b is None or not (a.is_real and b.is_real):
            continue
        if not holds(a, b) and _differ(a, b):
            found = {"at": {str(s): _show(v) for s, v in subs.items()}, "left": _show(a), "right": _show(b)}
            return "wrong", _describe(found), found
    return "unknown", "an inequality that no sampled point refutes", None
