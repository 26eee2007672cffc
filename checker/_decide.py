"""Decide one claim (runs in a worker process; the parent kills it at the time limit).

"Wrong" only where the step is wrong as its author meant it. Refuting is numeric and certain: a
point where both sides are defined and differ is a counterexample, and nothing is called wrong
without one. The point must lie in the document's domain: real numbers (a complex point where
`\\log` or `\\sqrt` differ is not one), natural numbers for sum bounds, factorials, binomials and
integer-named exponents (`\\sin^{2k} x`), and the conditions stated near the step (`x > 0`). A
step wrong under one reading of ambiguous notation and right under another (`i` a name or the
imaginary unit, `\\log` natural or decimal) is `unknown`. An antiderivative is right up to a
constant: `\\int f\\,dx = F + C` holds when F' = f. A value rounded to the digits written
(`\\frac{20}{3} = 6.67`) is `approximate`. Confirming is symbolic (`expand`, `cancel`, `simplify`)
or agreement at every sampled point.
"""

from __future__ import annotations

import math
import re
from typing import Any

from checker._config import ReadConfig
from checker._domain import Domain
from checker._read import READINGS, Reading, Unreadable, read
from checker._types import Decision, Verdict
from mathcore.steps import Claim

__all__ = ["decide"]

HUGE = 10**15  # past this, 40 digits cannot tell a difference of 1: such points are not evidence of equality
TOL = 1e-25  # relative, at 40 significant digits
DIGITS = 40
MIN_POINTS = 6
ENOUGH_POINTS = 12  # agreement at this many points is evidence enough: a wrong step almost always fails at the first
_CONSTANTS = re.compile(r"[CcKD](?:_\w+|\d*)|const")  # constants of integration


def decide(claim: Claim, config: ReadConfig | None = None) -> Decision | None:
    """The decision on `claim`; None when it makes no claim after all (a definition, an equation)."""
    config = config or ReadConfig()
    first = _decide(claim, config, READINGS[0])
    if first is None or first.verdict != Verdict.WRONG:
        return first
    for reading in READINGS[1:]:
        if not _applies(reading, claim.text):
            continue
        other = _decide(claim, config, reading)
        if other is None or other.verdict != Verdict.WRONG:
            return Decision(Verdict.UNKNOWN, f"wrong if read one way, but not if {_describe_reading(reading)}: ambiguous notation")
    return first


def _applies(reading: Reading, text: str) -> bool:
    if reading.imaginary_i:
        return bool(re.search(r"(?<![a-zA-Z\\])i(?![a-zA-Z_])", text))
    if not reading.euler_e:
        return bool(re.search(r"(?<![a-zA-Z\\])e(?![a-zA-Z])", text))
    if not reading.natural_log:
        return "\\log" in text
    if reading.floor_division:  # arithmetic on whole numbers only: `x^{1/2}` is no quotient
        return bool(re.search(r"\d\s*(?:\\div|/)\s*\d", text)) and not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", text))
    if not reading.star_product:  # between numbers, * is a product whoever wrote it
        return "*" in text and bool(re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", text)))
    return reading.narrow_arguments


def _describe_reading(reading: Reading) -> str:
    if reading.imaginary_i:
        return "i is the imaginary unit"
    if not reading.euler_e:
        return "e is a name, not Euler's number"
    if not reading.natural_log:
        return "\\log is base 10"
    if reading.floor_division:
        return "the division is a whole quotient (with a remainder)"
    if not reading.star_product:
        return "* is an operator such as a convolution"
    return "each function applies to the first factor after it"


def _decide(claim: Claim, config: ReadConfig, reading: Reading) -> Decision | None:
    import sympy as sp

    try:
        lhs, rhs = read(claim.lhs, reading), read(claim.rhs, reading)
    except Unreadable as exc:  # a lone formula we cannot read claims nothing; a step we cannot read is unknown
        return None if claim.kind == "lone" else Decision(Verdict.UNKNOWN, str(exc))
    domain = Domain.of(claim, config, (lhs, rhs), reading)
    lhs, rhs = domain.declare(lhs), domain.declare(rhs)
    if _applied_unknowns(lhs) or _applied_unknowns(rhs):  # `f(t)`, `u(t - a)`: nothing to compute, only to compare
        same = claim.relation == "=" and _zero(lhs - rhs, simplify=False)
        if same:
            return Decision(Verdict.VERIFIED, "both sides are the same expression")
        return None if claim.kind == "lone" else Decision(Verdict.UNKNOWN, "it involves functions that are not defined here")
    if _indefinite(lhs) or _indefinite(rhs):
        return _antiderivative(claim, lhs, rhs, domain)
    if lhs.atoms(sp.Integral) | rhs.atoms(sp.Integral) and lhs.free_symbols != rhs.free_symbols and claim.kind != "implies":
        # computing the integrals (seconds) would not make the variables agree: a substitution or a name
        return Decision(Verdict.UNKNOWN, "the two sides have different variables (a name, a substitution or an equation to solve)")
    # a derivative, integral, sum or limit is computed, not solved for: `\frac{d}{dx} \sin x = -\cos x` claims
    computed = _has_unevaluated(lhs) or _has_unevaluated(rhs)
    lhs, rhs = (_doit(e) for e in (lhs, rhs))
    if claim.kind == "implies" and claim.premise is not None:
        return _implies(claim, lhs, rhs, domain, reading)
    diff = lhs - rhs
    if (claim.kind == "lone" and not computed and diff.free_symbols and not _constant(diff)
            and (claim.relation != "=" or not _identity(lhs, rhs, diff, domain))):
        return None  # an equation, a condition or a definition, not a claim
    if lhs.free_symbols != rhs.free_symbols and not _zero(diff):
        # `a = b = c`, `A = \pi r^2`, `1 = A(x+2) + B(x-1)`: names, substitutions and equations in their
        # unknowns, not identities in the variables
        return Decision(Verdict.UNKNOWN, "the two sides have different variables (a name, a substitution or an equation to solve)")
    if claim.relation != "=":
        return _inequality(claim, lhs, rhs, domain)
    # `\frac{1}{1 - \frac{1}{1 - a}} = a`: a variable set equal to an expression in itself, true at no point or at isolated
    # ones, is an equation to solve; one true on much of the domain (`(x^2)^{1/2} = x`) claims an identity
    if any(isinstance(side, sp.Symbol) and side in other.free_symbols for side, other in ((lhs, rhs), (rhs, lhs))) \
            and not _zero(diff, simplify=False) and _agreement(lhs, rhs, domain) < 0.25:
        return Decision(Verdict.UNKNOWN, "a variable equal to an expression in itself: an equation to solve, not an identity")
    if not (_applied_unknowns(lhs) or _applied_unknowns(rhs)) and _zero(diff, simplify=False):
        return Decision(Verdict.VERIFIED, "the two sides are equal (their difference expands to 0)")  # milliseconds: a suggestion waits on this
    if _applied_unknowns(lhs) or _applied_unknowns(rhs):
        return Decision(Verdict.VERIFIED, "both sides are the same expression") if _zero(diff) else \
            Decision(Verdict.UNKNOWN, "it involves functions that are not defined here")
    found, compared = _counterexample(lhs, rhs, domain)
    if found is not None:
        return _refuted(claim, lhs, rhs, found, domain)
    if compared >= MIN_POINTS:
        return Decision(Verdict.VERIFIED, f"the two sides agree at all {compared} points tried{domain.where()}")
    if _zero(diff):
        return Decision(Verdict.VERIFIED, "the two sides are equal (sympy simplifies their difference to 0)")
    return Decision(Verdict.UNKNOWN, "too few points where both sides could be evaluated")


def _refuted(claim: Claim, lhs: Any, rhs: Any, found: dict[str, Any], domain: Domain) -> Decision:
    """WRONG, unless a condition we could not read bears on the step, or one side is a decimal that
    the other rounds to (`approximate`)."""
    rounded = _rounding(claim, lhs, rhs)
    if rounded is not None:
        return Decision(Verdict.APPROXIMATE, rounded)
    if domain.blocked:
        return Decision(Verdict.UNKNOWN, f"it depends on a condition on {', '.join(sorted(domain.blocked))} that could not be read")
    return Decision(Verdict.WRONG, _describe(found), found)


def _rounding(claim: Claim, lhs: Any, rhs: Any) -> str | None:
    """'X rounds to D' when one side is written as a decimal D and the other, a constant, rounds to it."""
    import sympy as sp

    for text, exact, other in ((claim.rhs, rhs, lhs), (claim.lhs, lhs, rhs)):
        m = re.fullmatch(r"\s*-?\s*\d*\.(\d+)\s*", text)
        if not m or other.free_symbols:
            continue
        value = _value(other, {}, real=True)
        if value is None:
            continue
        places = len(m.group(1))
        if abs(sp.N(value - exact, DIGITS)) <= sp.Rational(1, 2) * sp.Rational(1, 10**places) * (1 + sp.Rational(1, 10**6)):
            return f"{_show(value)} rounds to {text.strip()} ({places} decimal place{'s' if places > 1 else ''}): approximately equal"
    return None


def _constant(diff: Any) -> bool:
    """Whether `diff` simplifies to a constant: `2(y+4) - (2y+4)` is 4, so a lone row claims it (and is wrong)."""
    import sympy as sp

    try:
        return not sp.expand(diff).free_symbols
    except Exception:  # sympy fails on exotic input: not shown constant
        return False


def _doit(expr: Any) -> Any:
    return expr.doit() if _has_unevaluated(expr) else expr


def _identity(lhs: Any, rhs: Any, diff: Any, domain: Domain) -> bool:
    """Whether a lone `lhs = rhs` holds for every value of its variables (else it is an equation)."""
    if _zero(diff, simplify=False):
        return True
    found, compared = _counterexample(lhs, rhs, domain)
    return found is None and (compared >= MIN_POINTS or _zero(diff))


def _zero(diff: Any, simplify: bool = True) -> bool:
    """Whether `diff` is identically 0: expansion and cancellation first (milliseconds), `simplify` last."""
    import sympy as sp

    if sp.expand(diff) == 0 or (not diff.has(sp.Function) and sp.cancel(diff) == 0):
        return True
    return simplify and sp.simplify(diff) == 0


def _indefinite(expr: Any) -> bool:
    import sympy as sp

    return any(len(limit) == 1 for i in expr.atoms(sp.Integral) for limit in i.limits)


def _has_unevaluated(expr: Any) -> bool:
    import sympy as sp

    return bool(expr.atoms(sp.Derivative, sp.Integral, sp.Sum, sp.Product, sp.Limit))


def _applied_unknowns(expr: Any) -> bool:
    from sympy.core.function import AppliedUndef

    return bool(expr.atoms(AppliedUndef))


def _value(expr: Any, subs: dict[Any, Any], real: bool) -> Any:
    """The value at `subs` to DIGITS digits, or None where it is undefined, not finite, or (`real`) not real."""
    import sympy as sp

    try:
        at = expr.subs(subs)
        if any(not (b.is_finite or b.free_symbols) for i in at.atoms(sp.Integral) for limit in i.limits for b in limit[1:]):
            return None  # an improper integral sympy could not do: numeric quadrature is no evidence
        for s in at.atoms(sp.Sum, sp.Product):
            if any(lo.is_number and hi.is_number and hi < lo - 1 for _, lo, hi in s.limits):
                return None  # an empty range read backwards (Karr's convention): not what a document means
        if real and not _real_throughout(at):
            return None  # `\sqrt{x}\sqrt{x}` at x = -1 is real, but not where the document's numbers are
        v = sp.N(at, DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, RecursionError):
        return None
    if not v.is_number or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan) or v.is_finite is False:
        return None
    try:
        c = complex(v)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(c.real) and math.isfinite(c.imag)):
        return None
    if real and abs(c.imag) > 1e-20 * (1 + abs(c.real)):
        return None
    return sp.re(v) if real else v


def _real_throughout(expr: Any) -> bool:
    """Whether every root, logarithm and inverse function inside `expr` (a number) is real."""
    import sympy as sp

    inner = [a for a in expr.atoms(sp.Pow) if not a.exp.is_integer] + list(expr.atoms(sp.log, sp.asin, sp.acos, sp.asec, sp.acsc,
                                                                                      sp.acosh, sp.atanh, sp.acoth))
    for a in inner:
        if a.free_symbols:
            continue  # inside an integral or a sum, in its own variable
        try:
            c = complex(sp.N(a, 20))
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            return False
        if abs(c.imag) > 1e-15 * (1 + abs(c.real)):
            return False
    return True


def _differ(a: Any, b: Any) -> bool:
    import sympy as sp

    return bool(abs(sp.N(a - b, DIGITS)) > TOL * (1 + abs(a) + abs(b)))


def _counterexample(lhs: Any, rhs: Any, domain: Domain) -> tuple[dict[str, Any] | None, int]:
    """A point of the domain where both sides are defined and differ, and how many points were compared."""
    symbols = sorted((lhs.free_symbols | rhs.free_symbols), key=str)
    if _applied_unknowns(lhs) or _applied_unknowns(rhs):
        return None, 0
    compared = 0
    for subs in domain.points(symbols):
        a, b = _value(lhs, subs, domain.real), _value(rhs, subs, domain.real)
        if a is None or b is None:
            continue  # undefined here: no evidence either way
        if _differ(a, b):
            return {"at": {str(s): _show(v) for s, v in subs.items()}, "left": _show(a), "right": _show(b)}, compared
        compared += 1 if abs(a) < HUGE and abs(b) < HUGE else 0
        if compared >= ENOUGH_POINTS:
            break
    return None, compared if symbols else compared * MIN_POINTS  # a constant compared exactly once is enough


def _agreement(lhs: Any, rhs: Any, domain: Domain) -> float:
    """The share of sampled points where both sides are defined and equal."""
    symbols = sorted((lhs.free_symbols | rhs.free_symbols), key=str)
    agree = compared = 0
    for subs in domain.points(symbols):
        a, b = _value(lhs, subs, domain.real), _value(rhs, subs, domain.real)
        if a is None or b is None:
            continue
        compared += 1
        agree += not _differ(a, b)
    return agree / compared if compared else 0.0


def _show(v: Any) -> str:
    try:
        c = complex(v)
    except (TypeError, OverflowError):
        return str(v)
    if abs(c) > HUGE:
        return f"{c.real:.6g}" if c.imag == 0 else str(v)
    if abs(c.imag) < 1e-12:
        r = c.real
        return str(round(r)) if abs(r - round(r)) < 1e-9 else f"{r:.6g}"
    return f"{c.real:.6g}{c.imag:+.6g}i"


def _describe(found: dict[str, Any]) -> str:
    where = ", ".join(f"{k} = {v}" for k, v in found["at"].items())
    sides = f"the left side is {found['left']} and the right side is {found['right']}"
    return f"at {where} {sides}" if where else sides


def _antiderivative(claim: Claim, lhs: Any, rhs: Any, domain: Domain) -> Decision:
    """`\\int f\\,dx = F + C`: right when F' = f (antiderivatives are equal up to a constant)."""
    import sympy as sp

    integrals = [i for side in (lhs, rhs) for i in side.atoms(sp.Integral)]
    variables = {limit[0] for i in integrals for limit in i.limits}
    if len(variables) != 1 or claim.relation != "=":
        return Decision(Verdict.UNKNOWN, "integrals in different variables (a substitution): not decided")
    x = variables.pop()
    extra = (lhs.free_symbols ^ rhs.free_symbols) - {x}
    if any(not _CONSTANTS.fullmatch(str(s)) for s in extra):
        return Decision(Verdict.UNKNOWN, "the two sides have different variables (a substitution or a name)")
    try:
        derivative = sp.diff(lhs - rhs, x).doit()
    except Exception:  # sympy fails on exotic input: undecided
        return Decision(Verdict.UNKNOWN, "the derivative of the two sides could not be taken")
    if derivative.atoms(sp.Integral) or _applied_unknowns(derivative):
        return Decision(Verdict.UNKNOWN, "the antiderivative could not be compared")
    if _zero(derivative, simplify=False):
        return Decision(Verdict.VERIFIED, "the two sides have the same derivative: equal up to a constant")
    zero = sp.Integer(0)
    found, compared = _counterexample(derivative, zero, domain)
    if found is not None:
        if domain.blocked:
            return Decision(Verdict.UNKNOWN, "it depends on a condition that could not be read")
        where = ", ".join(f"{k} = {v}" for k, v in found["at"].items())
        message = f"the derivatives of the two sides differ at {where}: not an antiderivative of the integrand (even up to a constant)"
        return Decision(Verdict.WRONG, message, found)
    if compared >= MIN_POINTS or _zero(derivative):
        return Decision(Verdict.VERIFIED, "the two sides have the same derivative: equal up to a constant")
    return Decision(Verdict.UNKNOWN, "too few points where the derivatives could be compared")


def _implies(claim: Claim, lhs: Any, rhs: Any, domain: Domain, reading: Reading) -> Decision | None:
    import sympy as sp

    assert claim.premise is not None
    try:
        p_lhs, p_rhs = (domain.declare(_doit(read(p, reading))) for p in claim.premise)
    except Unreadable as exc:
        return Decision(Verdict.UNKNOWN, str(exc))
    if _zero(p_lhs - p_rhs, simplify=False):
        # the row above is an identity, not an equation to solve: this row is a lone row of its own (a table of formulas)
        return _lone_identity(lhs, rhs, domain)
    symbols = (p_lhs.free_symbols | p_rhs.free_symbols | lhs.free_symbols | rhs.free_symbols)
    if len(symbols) != 1:
        return Decision(Verdict.UNKNOWN, "an equation step in several variables is not decided")
    x = next(iter(symbols))
    solutions = sp.solve(sp.Eq(p_lhs, p_rhs), x)
    if not solutions or not all(getattr(s, "is_number", False) for s in solutions):
        return Decision(Verdict.UNKNOWN, "the previous equation could not be solved")
    for s in solutions:
        if domain.real and not s.is_real:
            continue  # a complex solution of an equation about real numbers is none
        if not domain.admits({x: s}):
            continue
        a, b = _value(lhs, {x: s}, domain.real), _value(rhs, {x: s}, domain.real)
        if a is not None and b is not None and _differ(a, b):
            found = {"at": {str(x): _show(sp.N(s))}, "left": _show(a), "right": _show(b)}
            if domain.blocked:
                return Decision(Verdict.UNKNOWN, "it depends on a condition that could not be read")
            return Decision(Verdict.WRONG, f"{x} = {_show(sp.N(s))} solves the previous equation but not this one: "
                                           f"the left side is {found['left']} and the right side is {found['right']}", found)
    return Decision(Verdict.VERIFIED, "every solution of the previous equation solves this one")


def _lone_identity(lhs: Any, rhs: Any, domain: Domain) -> Decision | None:
    """A row that is an identity is verified; otherwise it is an equation or a definition: no claim."""
    diff = lhs - rhs
    if _zero(diff, simplify=False):
        return Decision(Verdict.VERIFIED, "the two sides are equal (their difference expands to 0)")
    found, compared = _counterexample(lhs, rhs, domain)
    if found is None and compared >= MIN_POINTS:
        return Decision(Verdict.VERIFIED, f"the two sides agree at all {compared} points tried{domain.where()}")
    return None


def _inequality(claim: Claim, lhs: Any, rhs: Any, domain: Domain) -> Decision:
    """Refuted only where no condition can save it: between numbers, or false at every point tried
    (an inequality about variables usually holds under conditions stated in the prose)."""
    import operator

    holds = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[claim.relation]
    symbols = sorted((lhs.free_symbols | rhs.free_symbols), key=str)
    first: dict[str, Any] | None = None
    compared = 0
    for subs in domain.points(symbols):
        a, b = _value(lhs, subs, True), _value(rhs, subs, True)
        if a is None or b is None:
            continue
        compared += 1
        if holds(a, b) or not _differ(a, b):
            if not symbols:
                return Decision(Verdict.VERIFIED, "the inequality holds between these numbers")
            return Decision(Verdict.UNKNOWN, "an inequality that holds at some points: it depends on conditions (not refuted)")
        first = first or {"at": {str(s): _show(v) for s, v in subs.items()}, "left": _show(a), "right": _show(b)}
    if first is not None and (not symbols or compared >= MIN_POINTS):
        if domain.blocked:
            return Decision(Verdict.UNKNOWN, "it depends on a condition that could not be read")
        return Decision(Verdict.WRONG, _describe(first) if not symbols else f"false at every point tried, for example {_describe(first)}",
                        first)
    return Decision(Verdict.UNKNOWN, "an inequality that could not be decided")
