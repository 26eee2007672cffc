"""Where a step's variables live: the points a counterexample may use.

A document about real numbers means real values: `\\sqrt{x}`, `\\log x` and `x^{1/3}` are
real-valued, and a point where a side is not real is no evidence either way. Natural numbers:
the variables of sum and product bounds, factorials and binomials, and integer-named exponents
(`(1+x)^n`, `\\sin^{2k} x`). Conditions stated near the step (`x > 0`, `0 < x < 1`,
`n \\in \\mathbb{N}`, `x \\in [0, 1]`, a `% mathassist: assume` comment) hold at every point; a
condition that cannot be read blocks refuting any step about its variables.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from checker._config import ReadConfig
from checker._read import Reading, Unreadable, read
from mathcore.steps import Claim, split_relations

__all__ = ["Domain"]

REAL_POINTS = ("-2", "-1", "-1/2", "0", "1/2", "1", "3/2", "2", "3", "-7/2", "1/4", "7", "5/2", "-3", "4", "1/3", "-5/4", "10", "5",
               "9/4")  # exact: floats lose digits
NATURAL_POINTS = ("1", "2", "3", "4", "5", "6", "9")
INTEGER_POINTS = ("-3", "-2", "-1", "0", "1", "2", "3", "5")
COMPLEX_POINTS = ("1/2 + 3/2*I", "-5/4 + 3/4*I", "2 - I")
POINTS = 24
_INTEGER_NAMES = {"n", "m", "k", "j", "l", "N", "M", "K"}
_RELATIONS = {"<": "Lt", "<=": "Le", ">": "Gt", ">=": "Ge"}


@dataclass
class Domain:
    """The real or natural kind of each variable, the conditions that hold, and what blocks a refutation."""

    real: bool = True
    kinds: dict[str, str] = field(default_factory=dict)  # name -> natural | integer | real
    conditions: list[Any] = field(default_factory=list)  # sympy relations over declared symbols
    blocked: set[str] = field(default_factory=set)  # variables under a condition that could not be read
    guards: list[Any] = field(default_factory=list)  # roots, logarithms...: a point where one is not real is outside the domain

    @classmethod
    def of(cls, claim: Claim, config: ReadConfig, exprs: tuple[Any, ...], reading: Reading) -> Domain:
        domain = cls(real=config.real and not reading.imaginary_i)  # with i the imaginary unit, values are complex
        names = {str(s) for e in exprs for s in e.free_symbols}
        for e in exprs:
            for name in _natural_names(e):
                domain.kinds[name] = "natural"
        for text in (*config.assumptions, *getattr(claim, "assumptions", ())):
            domain._assume(text, names, reading)
        if domain.real:
            domain.guards = [domain.declare(g) for g in _guards(claim, reading)]
        return domain

    def _assume(self, text: str, names: set[str], reading: Reading) -> None:
        import sympy as sp

        text = text.strip().rstrip(".,;").strip()
        sets = re.fullmatch(r"(.+?)\\in\s*\\mathbb\s*\{?\s*([NZR])\s*\}?\s*(\^\s*\{?\+\}?|_\{?\s*>\s*0\s*\}?)?", text)
        if sets:
            kind = {"N": "natural", "Z": "natural" if sets.group(3) else "integer", "R": "real"}[sets.group(2)]
            for name in re.split(r"\s*,\s*", sets.group(1).strip()):
                if name in names and kind != "real":
                    self.kinds[name] = kind
            return
        interval = re.fullmatch(r"(.+?)\\in\s*(\[|\()(.+?),(.+?)(\]|\))", text)
        if interval:
            var, left, lo, hi, right = (g.strip() for g in interval.groups())
            le = "\\le"
            text = f"{lo} {le if left == '[' else '<'} {var} {le if right == ']' else '<'} {hi}"
        parts = split_relations(text)
        letters = _letters(text)
        if not letters & {n.split("_")[0] for n in names}:
            return  # about other variables: nothing to do here
        try:
            if not parts or len(parts) < 3 or any(parts[i] not in _RELATIONS for i in range(1, len(parts), 2)):
                raise Unreadable(text)
            sides = [read(p, reading) for p in parts[0::2]]
            others = {str(s) for side in sides for s in side.free_symbols} - names
            if others:  # `n \ge M` with M not in the step: it constrains n in a way no point can test
                raise Unreadable(f"{text} involves {', '.join(sorted(others))}")
            for i in range(0, len(sides) - 1):
                self.conditions.append(getattr(sp, _RELATIONS[parts[2 * i + 1]])(sides[i], sides[i + 1], evaluate=False))
        except (Unreadable, TypeError, ValueError):
            self.blocked |= {n for n in names if n.split("_")[0] in letters}

    def declare(self, expr: Any) -> Any:
        """`expr` with its symbols real (or natural, or integer), so sympy simplifies as the document means."""
        import sympy as sp

        if not self.real:
            return expr
        swap = {s: self.symbol(str(s)) for s in expr.free_symbols if isinstance(s, sp.Symbol)}
        return expr.xreplace(swap)

    @staticmethod
    @functools.cache
    def _symbol(name: str, kind: str) -> Any:
        import sympy as sp

        if kind == "natural":
            return sp.Symbol(name, integer=True, positive=True)
        if kind == "integer":
            return sp.Symbol(name, integer=True)
        return sp.Symbol(name, real=True)

    def symbol(self, name: str) -> Any:
        return self._symbol(name, self.kinds.get(name, "real"))

    def admits(self, subs: dict[Any, Any]) -> bool:
        """Whether the point satisfies every condition that it determines, and every root and logarithm
        of the step, as written, is real there."""
        import sympy as sp

        by_name = {str(k): v for k, v in subs.items()}
        for guard in self.guards:
            if not {str(s) for s in guard.free_symbols} <= set(by_name):
                continue
            try:
                c = complex(sp.N(guard.xreplace({s: by_name[str(s)] for s in guard.free_symbols}), 20))
            except (TypeError, ValueError, OverflowError, ZeroDivisionError):
                continue  # undefined there: the sides will say so
            if abs(c.imag) > 1e-15 * (1 + abs(c.real)):
                return False
        for condition in self.conditions:
            names = {str(s) for s in condition.free_symbols}
            if not names <= set(by_name):
                continue
            try:
                value = condition.xreplace({s: by_name[str(s)] for s in condition.free_symbols}).doit()
            except (TypeError, ValueError):
                return False
            if value is not sp.true:
                return False
        return True

    def points(self, symbols: list[Any]) -> Iterator[dict[Any, Any]]:
        """Sampled points of the domain: the first variable runs through its values, the others vary."""
        if not symbols:
            yield {}
            return
        pools = [_values(self._pool(str(s))) for s in symbols]
        rng = random.Random(12345)
        for i in range(POINTS):
            point = {s: pools[0][i % len(pools[0])] if k == 0 else rng.choice(pools[k]) for k, s in enumerate(symbols)}
            if self.admits(point):
                yield point
        if not self.real:
            for value in _values(COMPLEX_POINTS):
                point = {s: value if k == 0 else rng.choice(_values(COMPLEX_POINTS)) for k, s in enumerate(symbols)}
                yield point

    def _pool(self, name: str) -> tuple[str, ...]:
        kind = self.kinds.get(name, "real")
        return NATURAL_POINTS if kind == "natural" else INTEGER_POINTS if kind == "integer" else REAL_POINTS

    def where(self) -> str:
        naturals = sorted(n for n, k in self.kinds.items() if k == "natural")
        parts = [" (real values" if self.real else " (complex ones included"]
        if naturals:
            parts.append(f"; {', '.join(naturals)} natural")
        if self.conditions:
            parts.append("; under the stated conditions")
        return "".join(parts) + ")"


@functools.cache
def _values(pool: tuple[str, ...]) -> tuple[Any, ...]:
    """The sampled values, parsed once per worker."""
    import sympy as sp

    return tuple(sp.sympify(v) for v in pool)


def _letters(text: str) -> set[str]:
    """The names of variables a condition mentions (one letter, or a Greek letter's name)."""
    text = re.sub(r"\\(mathbb|mathrm|text|operatorname)\{[^{}]*\}", " ", text)
    return set(re.findall(r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])", text)) | set(re.findall(r"\\([a-zA-Z]+)", text))


def _guards(claim: Claim, reading: Reading) -> list[Any]:
    """The roots, logarithms and inverse functions of the step as written (before sympy simplifies
    `\\sqrt{x}\\sqrt{x}` to x): where one is not real, the step says nothing about real numbers."""
    import sympy as sp

    from checker._read import parse

    out: list[Any] = []
    for text in (claim.lhs, claim.rhs):
        try:
            expr = parse(text, evaluate=False, reading=reading)
        except Unreadable:
            continue
        if not isinstance(expr, sp.Basic):
            continue
        bound = {v for i in expr.atoms(sp.Integral, sp.Sum, sp.Product) for v in i.variables}
        for a in expr.atoms(sp.Pow, sp.log, sp.asin, sp.acos, sp.asec, sp.acsc, sp.acosh, sp.atanh, sp.acoth):
            if isinstance(a, sp.Pow) and isinstance(a.exp, sp.Integer):
                continue
            if a.free_symbols & bound or len(out) > 40:
                continue
            out.append(a)
    return out


def _natural_names(expr: Any) -> set[str]:
    """Variables a document means as natural numbers: sum and product bounds, factorial and binomial
    arguments, and integer-named variables in an integer-looking exponent (`(1+x)^n`, `\\sin^{2k} x`)."""
    import sympy as sp

    names: set[str] = set()
    for s in expr.atoms(sp.Sum, sp.Product):
        for _, lo, hi in s.limits:
            names |= {str(v) for v in lo.free_symbols | hi.free_symbols}
    for f in expr.atoms(sp.factorial, sp.binomial, sp.factorial2):
        names |= {str(v) for a in f.args for v in a.free_symbols}
    for i in expr.atoms(sp.Integral):
        for limit in i.limits[:]:
            names |= {str(v) for b in limit[1:] for v in b.free_symbols if str(v) in _INTEGER_NAMES}
    for m in expr.atoms(sp.Mul):
        if m.has(sp.pi):
            names |= {str(v) for v in m.free_symbols if str(v) in _INTEGER_NAMES}  # `n\pi`, `2\pi k`
    for p in expr.atoms(sp.Pow):
        if p.base == sp.E:
            continue
        for v in p.exp.free_symbols:
            if str(v) in _INTEGER_NAMES and p.exp.is_polynomial(v) and all(c.is_integer for c in sp.Poly(p.exp, v).coeffs()
                                                                        if c.is_number):
                names.add(str(v))
    return names
