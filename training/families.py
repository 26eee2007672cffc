"""Problem families for the embedded model's corpus, each step checked with sympy.

Every generator takes a `random.Random` and returns a `Worked` value: the problem statement, the
solution steps in LaTeX, and the final answer. The steps are checked here, at generation time
(`_check*` helpers raise `AssertionError`), so a bug in a template can never teach the model a
wrong step. The solutions spell arithmetic out column by column: a model of a few million
parameters cannot add three-digit numbers in one token, but it can follow a written algorithm.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from math import gcd

import sympy as sp

X = sp.Symbol("x")


@dataclass(frozen=True)
class Program:
    """The tool-integrated solution: a program, what it prints, the sentence that reads it, its answer."""

    code: str
    output: str
    conclusion: str
    answer: str


@dataclass(frozen=True)
class Worked:
    """A worked problem: `steps` are LaTeX lines, `answer` is the boxed final answer.

    `problem` is the canonical statement; `math` is its mathematics alone and `var` its variable,
    from which `training.phrasing` writes the many ways people ask the same thing. `program` is
    the same problem solved with a program (DeepSeekMath's tool format).
    """

    family: str
    problem: str
    steps: tuple[str, ...]
    answer: str
    math: str = ""
    var: str = "x"
    program: Program | None = None


def frac(p: int, q: int) -> str:
    """LaTeX for the reduced fraction p/q (an integer when q divides p)."""
    r = sp.Rational(p, q)
    if r.q == 1:
        return str(r.p)
    sign = "-" if r < 0 else ""
    return f"{sign}\\frac{{{abs(r.p)}}}{{{r.q}}}"


def lin(a: int, b: int, var: str = "x") -> str:
    """LaTeX for a*x + b with the signs written as a person writes them."""
    head = var if a == 1 else "-" + var if a == -1 else f"{a}{var}"
    if b == 0:
        return head
    return f"{head} + {b}" if b > 0 else f"{head} - {-b}"


def poly(coeffs: list[int]) -> str:
    """LaTeX for a polynomial in x; coeffs[i] is the coefficient of x^(len-1-i)."""
    return _terms(coeffs, lambda mag, k: ("" if mag == 1 and k > 0 else str(mag)) + ("x" if k >= 1 else "") + (f"^{k}" if k >= 2 else ""))


def _terms(coeffs: list[int], term: Callable[[int, int], str]) -> str:
    """Nonzero terms joined with their signs as a person writes them; `term(|c|, power)` writes one."""
    out = ""
    n = len(coeffs) - 1
    for i, c in enumerate(coeffs):
        if c == 0:
            continue
        body = term(abs(c), n - i)
        out += (("-" if c < 0 else "") if not out else (" - " if c < 0 else " + ")) + body
    return out or "0"


def signed(n: int) -> str:
    """`+ n` or `- |n|` for writing a term after another."""
    return f"+ {n}" if n >= 0 else f"- {-n}"


def paren(n: int) -> str:
    """A number as it may follow an operator: negatives in parentheses."""
    return f"({n})" if n < 0 else str(n)


def _check_equation(lhs: str, rhs: str, root: sp.Expr) -> None:
    assert sp.simplify(sp.sympify(lhs).subs(X, root) - sp.sympify(rhs)) == 0, (lhs, rhs, root)


_PLACES = ["ones", "tens", "hundreds", "thousands", "ten thousands", "hundred thousands"]
_OPS = {"+": "+", "-": "-", "*": "\\times"}


def place_values(n: int) -> str:
    """`760 = 700 + 60 + 0`: the expanded form names each digit's column for the steps after it."""
    digits = str(n)
    if len(digits) == 1:
        return f"{n} = {n}"
    parts = [d + "0" * (len(digits) - 1 - i) for i, d in enumerate(digits)]
    return f"{n} = " + " + ".join(parts)


def _carry_steps(facts: list[tuple[str, int]]) -> tuple[list[str], int]:
    """Columns ones first: each one-digit fact (its text, its value) plus the carry in; one digit written, the rest carried."""
    carry, digits, steps = 0, [], []
    for i, (fact, value) in enumerate(facts):
        s = value + carry
        extra = f" + {carry}" if carry else ""
        carry = s // 10
        note = f", write {s % 10}, carry {carry}" if carry else f", write {s}"
        steps.append(f"{_PLACES[i].capitalize()}: ${fact}{extra} = {s}${note}.")
        digits.append(s % 10)
    if carry:
        digits.append(carry)
        steps.append(f"Write the final carry {carry}.")
    return steps, int("".join(map(str, reversed(digits))))


def _add_steps(p: int, q: int) -> tuple[list[str], int]:
    """Column addition, ones first, every carry written down."""
    da, db = str(p)[::-1].ljust(len(str(q)), "0"), str(q)[::-1].ljust(len(str(p)), "0")
    steps, total = _carry_steps([(f"{x} + {y}", int(x) + int(y)) for x, y in zip(da, db, strict=True)])
    assert sp.Integer(p) + sp.Integer(q) == total
    return steps, total


def _sub_steps(p: int, q: int) -> tuple[list[str], int]:
    """Column subtraction of q <= p, ones first; a borrow is taken from the next column in writing."""
    assert 0 <= q <= p
    da, db = str(p)[::-1], str(q)[::-1]
    borrow, digits, steps = 0, [], []
    for i in range(len(da)):
        x = int(da[i])
        y = int(db[i]) if i < len(db) else 0
        head = f"{x} - {borrow}" if borrow else f"{x}"
        x -= borrow
        after = f"${head} = {x}$ after the borrow, " if borrow else ""
        if x < y:
            steps.append(f"{_PLACES[i].capitalize()}: {after}${x} < {y}$, borrow 1: ${x + 10} - {y} = {x + 10 - y}$.")
            digits.append(x + 10 - y)
            borrow = 1
        else:
            steps.append(f"{_PLACES[i].capitalize()}: {after}${x} - {y} = {x - y}$.")
            digits.append(x - y)
            borrow = 0
    total = int("".join(map(str, reversed(digits))))
    assert sp.Integer(p) - sp.Integer(q) == total
    return steps, total


def _mul_steps(p: int, d: int) -> tuple[list[str], int]:
    """Column multiplication by one digit, ones first, every carry written down."""
    steps, total = _carry_steps([(f"{x} \\times {d}", int(x) * d) for x in str(p)[::-1]])
    assert sp.Integer(p) * d == total
    return steps, total


def column_steps(p: int, op: str, q: int) -> tuple[list[str], int]:
    """`p op q` for non-negative p, q (q <= p for "-"), worked so that each step is a one-digit fact.

    Single-digit operands are one fact; longer ones are written in place values first, so that a
    column's digits are copied from a labelled term rather than counted from the right.
    """
    if op == "-":
        assert q <= p
    if p < 10 and q < 10:
        value = p + q if op == "+" else p - q if op == "-" else p * q
        return [f"${p} {_OPS[op]} {q} = {value}$."], value
    lead = f"In place values, ${place_values(p)}$" + (f" and ${place_values(q)}$." if op != "*" else ".")
    steps, value = _add_steps(p, q) if op == "+" else _sub_steps(p, q) if op == "-" else _mul_steps(p, q)
    return [lead, *steps, f"So ${p} {_OPS[op]} {q} = {value}$."], value


def signed_steps(c: int, op: str, m: int) -> tuple[list[str], int]:
    """`c + m` or `c - m` for any integer c and m > 0: the sign rule first, then columns.

    Signed two-digit sums are where a small model guesses; rewriting them as one unsigned sum or
    difference of magnitudes makes them the column arithmetic it already knows.
    """
    assert m > 0 and op in "+-"
    value = c + m if op == "+" else c - m
    expr = f"{c} {op} {m}"
    if c >= 0 and (op == "+" or c >= m):
        steps, got = column_steps(c, op, m)
        assert got == value
        return steps, value
    if op == "-" and c >= 0:  # c < m
        rule, p, o, q, sign = f"${expr} = -({m} - {c})$.", m, "-", c, -1
    elif op == "-":  # c < 0
        rule, p, o, q, sign = f"${expr} = -({-c} + {m})$.", -c, "+", m, -1
    elif m >= -c:  # c < 0, result >= 0
        rule, p, o, q, sign = f"${expr} = {m} - {-c}$.", m, "-", -c, 1
    else:
        rule, p, o, q, sign = f"${expr} = -({-c} - {m})$.", -c, "-", m, -1
    steps, got = column_steps(p, o, q)
    assert sign * got == value
    return [rule, *steps, f"So ${expr} = {value}$."], value


def _primes(n: int) -> list[int]:
    out, d = [], 2
    while n > 1:
        while n % d == 0:
            out.append(d)
            n //= d
        d += 1
    return out


def reduce_steps(num: int, den: int) -> tuple[list[str], str]:
    """`num/den` in lowest terms, one prime of the denominator at a time, the sign settled first."""
    assert den != 0
    if num == 0:
        return [f"$\\frac{{0}}{{{den}}} = 0$."], "0"
    steps = []
    sign = "-" if (num < 0) != (den < 0) else ""
    p, q = abs(num), abs(den)
    if num < 0 or den < 0:
        what = "The signs cancel" if sign == "" else "The fraction is negative"
        steps.append(f"{what}: $\\frac{{{num}}}{{{den}}} = {sign}\\frac{{{p}}}{{{q}}}$.")
    for d in _primes(q):
        if p % d == 0:
            steps.append(f"Divide the numerator and the denominator by ${d}$: $\\frac{{{p}}}{{{q}}} = \\frac{{{p // d}}}{{{q // d}}}$.")
            p, q = p // d, q // d
    result = frac(int(sign + "1") * p, q)
    if q == 1:
        steps.append(f"$\\frac{{{p}}}{{1}} = {p}$, so the value is ${result}$.")
    else:
        steps.append(f"$\\frac{{{p}}}{{{q}}}$ is in lowest terms, so the value is ${result}$.")
    assert result == frac(num, den)
    return steps, result


# ---- helpers for programs (DeepSeekMath's tool format) and variable letters

VARIABLES = ("x", "x", "x", "x", "y", "t", "n", "a", "z", "k", "m", "u", "p", "s")


def variable(rng: random.Random) -> str:
    """The unknown's letter: mostly x, as in textbooks, but any letter must work."""
    return rng.choice(VARIABLES)


def py_poly(coeffs: list[int], var: str = "x") -> str:
    """Python for a polynomial (as `poly`, with `*` and `**`)."""
    return _terms(coeffs, lambda mag, k: str(mag) if k == 0 else ("" if mag == 1 else f"{mag}*") + var + (f"**{k}" if k >= 2 else ""))


def sympy_program(imports: str, var: str, expr: str) -> str:
    """A three-line sympy program that prints `expr` in the variable `var`."""
    return f"from sympy import {imports}\n\n{var} = symbols('{var}')\nprint({expr})"


def sp_latex(value: sp.Expr, var: str = "x") -> str:
    """LaTeX for a rational number or a polynomial in `var`, as the steps write it."""
    value = sp.nsimplify(value)
    if value.is_Rational:
        return frac(int(value.p), int(value.q))
    coeffs = [int(c) for c in sp.Poly(value, sp.Symbol(var)).all_coeffs()]
    return poly(coeffs).replace("x", var)


def linear_equation(rng: random.Random) -> Worked:
    """ax + b = c, with integer or fractional solutions, every sum and quotient worked out."""
    v = variable(rng)
    a = rng.choice([n for n in range(-9, 13) if n not in (0, 1)])
    b = rng.choice([n for n in range(-30, 31) if n != 0])
    if rng.random() < 0.6:
        root = rng.randint(-12, 12)
        c = a * root + b
    else:
        c = rng.randint(-40, 40)
    op = "-" if b > 0 else "+"
    sum_steps, rhs1 = signed_steps(c, op, abs(b))
    div_steps, answer = reduce_steps(rhs1, a)
    sol = sp.Rational(rhs1, a)
    _check_equation(f"{a}*x", str(rhs1), sol)
    assert a * sol + b == c and answer == frac(rhs1, a)
    eq = f"{lin(a, b, v)} = {c}"
    steps = [
        f"We want to isolate ${v}$ in ${eq}$.",
        f"{'Subtract' if b > 0 else 'Add'} ${abs(b)}$ {'from' if b > 0 else 'to'} both sides: ${lin(a, 0, v)} = {c} {op} {abs(b)}$.",
        *sum_steps,
        f"Hence ${lin(a, 0, v)} = {rhs1}$.",
        f"Divide both sides by ${a}$: ${v} = \\frac{{{rhs1}}}{{{a}}}$.",
        *div_steps,
        f"The solution is ${v} = {answer}$.",
    ]
    program = Program(
        sympy_program("Eq, solve, symbols", v, f"solve(Eq({py_poly([a, b], v)}, {c}), {v})"),
        f"[{sol}]", f"So ${v} = {answer}$.", answer,
    )
    return Worked("linear", f"Solve for ${v}$: ${eq}$.", tuple(steps), answer, eq, v, program)


def times_steps(p: int, q: int) -> tuple[list[str], int]:
    """p times q for 0 <= q <= 99 and p >= 0: by one digit in columns, by two digits as tens and ones."""
    if q < 10:
        return column_steps(p, "*", q)
    t, o = divmod(q, 10)
    steps = [f"${p} \\times {q} = {p} \\times {t * 10} + {p} \\times {o}$."]
    tens, pt = column_steps(p, "*", t)
    steps += [*tens, f"So ${p} \\times {t * 10} = {pt * 10}$."]
    if o == 0:
        steps.append(f"So ${p} \\times {q} = {pt * 10}$.")
        return steps, pt * 10
    ones, po = column_steps(p, "*", o)
    add, total = column_steps(pt * 10, "+", po)
    assert total == p * q
    return [*steps, *ones, *add[:-1], f"So ${p} \\times {q} = {total}$."], total


def arithmetic(rng: random.Random) -> Worked:
    """Sums and differences of integers up to four digits, products by one or two digits."""
    kind = rng.choice(["+", "-", "*", "*"])
    big = 9999 if rng.random() < 0.2 else 999
    p = rng.randint(10, big)
    q = rng.randint(10, big) if kind == "+" else rng.randint(1, big) if kind == "-" else rng.randint(2, 9 if rng.random() < 0.6 else 99)
    if kind == "-":
        p, q = max(p, q), min(p, q)
    if kind == "*":
        steps, total = times_steps(p, q)
    else:
        steps, total = column_steps(p, kind, q)
    expr = f"{p} {_OPS[kind]} {q}"
    steps = [f"We compute ${expr}$ column by column, starting from the ones.", *steps]
    program = Program(f"print({p} {kind} {q})", str(total), f"So ${expr} = {total}$.", str(total))
    return Worked("arithmetic", f"Compute ${expr}$.", tuple(steps), str(total), expr, "x", program)


class _TooLong(Exception):
    """A random expression whose written solution would not fit a training window (or has a zero step)."""


def _num(n: int, first: bool) -> str:
    return str(n) if n >= 0 or first else f"({n})"


def _render(items: list, first: bool = True) -> str:  # type: ignore[type-arg]
    """LaTeX for a flat expression [n, op, n, ...] whose items may be parenthesised groups (lists)."""
    out = []
    for i, it in enumerate(items):
        if isinstance(it, list):
            out.append("(" + _render(it) + ")")
        elif isinstance(it, str):
            out.append(_OPS[it])
        else:
            out.append(_num(it, first and i == 0))
    return " ".join(out)


def _python(items: list) -> str:  # type: ignore[type-arg]
    return " ".join("(" + _python(it) + ")" if isinstance(it, list) else it if isinstance(it, str) else _num(it, i == 0)
                    for i, it in enumerate(items))


def _apply(x: int, op: str, y: int) -> tuple[list[str], int]:
    """One operation on signed integers, the signs settled first, then columns."""
    if x == 0 or y == 0:  # a zero (a difference of equal numbers) makes a degenerate step: draw again
        raise _TooLong
    if op == "*":
        if min(abs(x), abs(y)) > 99 or max(abs(x), abs(y)) > 9999:
            raise _TooLong
        value = x * y
        big, small = max(abs(x), abs(y)), min(abs(x), abs(y))
        lead = f"{_num(x, True)} \\times {_num(y, False)}"
        steps = []
        if x < 0 or y < 0:
            rule = "The signs cancel" if (x < 0) == (y < 0) else "One factor is negative"
            inner = f"{big} \\times {small}"
            steps.append(f"{rule}: ${lead} = {inner if value >= 0 else '-(' + inner + ')'}$.")
        elif abs(x) < abs(y) and small >= 10:
            steps.append(f"${lead} = {big} \\times {small}$.")
        work, mag = times_steps(big, small)
        assert mag == abs(value)
        steps += work
        if x < 0 or y < 0 or (abs(x) < abs(y) and small >= 10):
            steps.append(f"So ${lead} = {value}$.")
        return steps, value
    steps = []
    if y < 0:
        flipped = "-" if op == "+" else "+"
        steps.append(f"${_num(x, True)} {op} ({y}) = {x} {flipped} {-y}$.")
        op, y = flipped, -y
    work, value = signed_steps(x, op, y)
    return steps + work, value


def _reduce(items: list, steps: list[str]) -> int:  # type: ignore[type-arg]
    """Products first, then sums and differences, left to right; the expression after each."""
    items = list(items)
    while len(items) > 1:
        i = next((k for k in range(1, len(items), 2) if items[k] == "*"), 1)
        work, value = _apply(items[i - 1], items[i], items[i + 1])
        steps += work
        items[i - 1 : i + 2] = [value]
        if len(items) > 1:
            steps.append(f"Now we have ${_render(items)}$.")
        if abs(value) > 99999:
            raise _TooLong
    return items[0]


def multi_operation(rng: random.Random) -> Worked:
    """Two or three operations with parentheses and signed numbers, in the order of operations."""
    while True:
        n_ops = rng.choice([2, 2, 3])
        ops = [rng.choice(["+", "-", "*"]) for _ in range(n_ops)]

        def operand(op_near: list[str]) -> int:
            m = rng.randint(2, 12) if "*" in op_near and rng.random() < 0.7 else rng.randint(2, 999 if rng.random() < 0.5 else 99)
            return -m if rng.random() < 0.15 else m

        nums = [operand(ops[max(0, i - 1): i + 1]) for i in range(n_ops + 1)]
        flat: list = [nums[0]]  # type: ignore[type-arg]
        for op, n in zip(ops, nums[1:], strict=True):
            flat += [op, n]
        if rng.random() < 0.6:  # one parenthesised pair of operands
            k = rng.randrange(n_ops)
            flat[2 * k : 2 * k + 3] = [flat[2 * k : 2 * k + 3]]
        expr, code = _render(flat), f"print({_python(flat)})"
        steps = [f"We compute ${expr}$ in the order of operations: parentheses first, then products, then sums and differences from left to right."]
        try:
            for k, it in enumerate(flat):
                if isinstance(it, list):
                    steps.append(f"First the parentheses: ${_render(it)}$.")
                    flat[k] = _reduce(it, steps)
                    if len(flat) > 1:
                        steps.append(f"Now we have ${_render(flat)}$.")
            value = _reduce(flat, steps)
        except _TooLong:
            continue
        assert eval(code[6:-1]) == value  # our own generated integer expression
        if sum(len(s) for s in steps) > 1600:
            continue
        steps.append(f"So ${expr} = {value}$.")
        program = Program(code, str(value), f"So ${expr} = {value}$.", str(value))
        return Worked("multi", f"Compute ${expr}$.", tuple(steps), str(value), expr, "x", program)


def _pair(rng: random.Random) -> tuple[int, int]:
    a = rng.choice([n for n in range(-9, 10) if n != 0])
    b = rng.choice([n for n in range(-9, 10) if n != 0])
    return a, b


def expand_product(rng: random.Random) -> Worked:
    """(x+a)(x+b) expanded term by term."""
    v = variable(rng)
    a, b = _pair(rng)
    lhs = f"({lin(1, a, v)})({lin(1, b, v)})"
    mid = f"x^2 {signed(b)}x {signed(a)}x {signed(a * b)}".replace("+ 1x", "+ x").replace("- 1x", "- x").replace("x", v)
    result = poly([1, a + b, a * b]).replace("x", v)
    assert sp.expand((X + a) * (X + b)) == sp.expand(X**2 + (a + b) * X + a * b)
    steps = (
        f"We expand ${lhs}$.",
        f"Multiply each term of ${lin(1, a, v)}$ by each term of ${lin(1, b, v)}$:",
        f"${lhs} = {mid}$.",
        f"Combine the like terms: ${signed(b)}x {signed(a)}x = {signed(a + b)}x$.".replace("= + ", "= ").replace("x", v),
        f"So ${lhs} = {result}$.",
    )
    out = str(sp.expand((sp.Symbol(v) + a) * (sp.Symbol(v) + b)))
    program = Program(sympy_program("expand, symbols", v, f"expand(({py_poly([1, a], v)})*({py_poly([1, b], v)}))"), out,
                      f"So ${lhs} = {result}$.", result)
    return Worked("expand", f"Expand ${lhs}$.", steps, result, lhs, v, program)


def factor_quadratic(rng: random.Random) -> Worked:
    """x^2 + px + q with integer roots, factored by the product-sum rule."""
    v = variable(rng)
    a, b = _pair(rng)
    a, b = min(a, b), max(a, b)
    p, q = a + b, a * b
    assert sp.factor(X**2 + p * X + q) == sp.factor((X + a) * (X + b))
    quad = poly([1, p, q]).replace("x", v)
    answer = f"({lin(1, a, v)})({lin(1, b, v)})"
    steps = (
        f"We factor ${quad}$.",
        f"We need two numbers whose product is ${q}$ and whose sum is ${p}$.",
        f"They are ${a}$ and ${b}$: ${paren(a)} \\cdot {paren(b)} = {q}$ and ${paren(a)} + {paren(b)} = {p}$.",
        f"So ${quad} = {answer}$.",
    )
    out = str(sp.factor(sp.Symbol(v) ** 2 + p * sp.Symbol(v) + q))
    written = out.replace(")*(", ")(").replace("**2", "^2")
    program = Program(sympy_program("factor, symbols", v, f"factor({py_poly([1, p, q], v)})"), out, f"So ${quad} = {written}$.", written)
    return Worked("factor", f"Factor ${quad}$.", steps, answer, quad, v, program)


def quadratic_equation(rng: random.Random) -> Worked:
    """x^2 + px + q = 0 with integer roots, solved by factoring."""
    v = variable(rng)
    a, b = _pair(rng)
    while a == b:
        a, b = _pair(rng)
    a, b = min(a, b), max(a, b)
    p, q = a + b, a * b
    r1, r2 = sorted({-a, -b})
    assert set(sp.solve(X**2 + p * X + q, X)) == {r1, r2}
    roots = f"{r1}, {r2}"
    eq = f"{poly([1, p, q]).replace('x', v)} = 0"
    steps = (
        f"We solve ${eq}$ by factoring: we need two numbers with product ${q}$ and sum ${p}$, namely ${a}$ and ${b}$.",
        f"So the equation is $({lin(1, a, v)})({lin(1, b, v)}) = 0$.",
        f"A product is zero when a factor is zero: ${lin(1, a, v)} = 0$ or ${lin(1, b, v)} = 0$.",
        f"Hence ${v} = {-a}$ or ${v} = {-b}$.",
    )
    program = Program(sympy_program("Eq, solve, symbols", v, f"solve(Eq({py_poly([1, p, q], v)}, 0), {v})"),
                      f"[{r1}, {r2}]", f"So ${v} = {r1}$ or ${v} = {r2}$.", roots)
    return Worked("quadratic", f"Solve ${eq}$.", steps, roots, eq, v, program)


def derivative(rng: random.Random) -> Worked:
    """Derivatives of polynomials, term by term with the power rule."""
    v = "x" if rng.random() < 0.6 else rng.choice(["t", "u", "s", "y", "z"])
    deg = rng.randint(2, 4)
    coeffs = [rng.choice([n for n in range(-9, 10) if n != 0])] + [rng.randint(-9, 9) for _ in range(deg)]
    f = sum(c * X ** (deg - i) for i, c in enumerate(coeffs))
    dcoeffs = [c * (deg - i) for i, c in enumerate(coeffs[:-1])]
    df = poly(dcoeffs).replace("x", v)
    fx = poly(coeffs).replace("x", v)
    assert sp.expand(sp.diff(f, X) - sum(c * X ** (deg - 1 - i) for i, c in enumerate(dcoeffs))) == 0
    steps = [f"We differentiate $f({v}) = {fx}$ term by term with the power rule $\\frac{{d}}{{d{v}}} {v}^n = n {v}^{{n-1}}$."]
    for i, c in enumerate(coeffs[:-1]):
        k = deg - i
        if c == 0:
            continue
        term = (f"{c} \\cdot {k} x^{{{k - 1}}} = {poly([c * k] + [0] * (k - 1))}").replace("x", v)
        steps.append(f"$\\frac{{d}}{{d{v}}}\\left({poly([c] + [0] * k).replace('x', v)}\\right) = {term}$.")
    if coeffs[-1]:
        steps.append(f"The constant ${coeffs[-1]}$ has derivative $0$.")
    steps.append(f"So $f'({v}) = {df}$.")
    out = str(sp.diff(sum(c * sp.Symbol(v) ** (deg - i) for i, c in enumerate(coeffs)), sp.Symbol(v)))
    program = Program(sympy_program("diff, symbols", v, f"diff({py_poly(coeffs, v)}, {v})"), out, f"So $f'({v}) = {df}$.", df)
    return Worked("derivative", f"Find the derivative of $f({v}) = {fx}$.", tuple(steps), df, fx, v, program)


def arithmetic_series(rng: random.Random) -> Worked:
    """Sums a + (a+d) + ... + l by the formula n(a+l)/2, halving whichever factor is even.

    Asked with the terms written out, or as "the first n terms of" a sequence (`var` is then the
    number of terms, as text, for the phrasing)."""
    a = rng.randint(1, 12)
    d = rng.randint(1, 6)
    first_n = rng.random() < 0.5
    n = rng.randint(4, 16) if first_n else rng.randint(4, 9)
    last = a + (n - 1) * d
    total = n * (a + last) // 2
    assert sp.summation(a + (sp.Symbol("k") - 1) * d, (sp.Symbol("k"), 1, n)) == total
    terms = f"{a} + {a + d} + {a + 2 * d} + \\dots + {last}"
    seq = f"{a}, {a + d}, {a + 2 * d}, \\ldots"
    add, s = column_steps(last, "+", a)
    if n % 2 == 0:
        half = f"Since ${n}$ is even, $\\frac{{{n}}}{{2}} = {n // 2}$ and the sum is ${s} \\times {n // 2}$."
        mul, got = times_steps(s, n // 2)
    else:
        half = f"Since ${n}$ is odd, ${s}$ is even: $\\frac{{{s}}}{{2}} = {s // 2}$ and the sum is ${s // 2} \\times {n}$."
        mul, got = times_steps(s // 2, n)
    assert got == total
    if first_n:
        step_mul, nd = times_steps(n - 1, d)
        step_add, got_last = column_steps(nd, "+", a)
        assert got_last == last
        lead = (
            f"The sequence ${seq}$ is arithmetic with first term $a = {a}$ and common difference $d = {a + d} - {a} = {d}$.",
            f"The ${n}$th term is $l = a + (n - 1)d = {a} + {n - 1} \\times {d}$.",
            *step_mul, *step_add,
            f"So the last term is $l = {last}$ and we add $n = {n}$ terms.",
        )
        problem = f"Find the sum of the first ${n}$ terms of the arithmetic sequence ${seq}$."
        code = f"print(sum({a} + {d}*k for k in range({n})))"
        math = seq
    else:
        lead = (
            f"This is an arithmetic series with first term ${a}$, common difference ${d}$ and last term ${last}$.",
            f"The number of terms is $n = \\frac{{{last} - {a}}}{{{d}}} + 1 = {n}$.",
        )
        problem = f"Compute ${terms}$."
        code = f"print(sum(range({a}, {last + 1}, {d})))"
        math = terms
    steps = (
        *lead,
        f"The sum is $\\frac{{n(a + l)}}{{2}}$ with $a + l = {last} + {a}$.",
        *add,
        half,
        *mul,
        f"The sum is ${total}$.",
    )
    program = Program(code, str(total), f"The sum is ${total}$.", str(total))
    return Worked("series", problem, steps, str(total), math, str(n) if first_n else "", program)


def fractions(rng: random.Random) -> Worked:
    """Sums and differences of two fractions with small denominators."""
    b, d = rng.randint(2, 9), rng.randint(2, 9)
    a, c = rng.randint(1, b - 1), rng.randint(1, d - 1)
    op = rng.choice(["+", "-"])
    m = b * d // gcd(b, d)
    a2, c2 = a * (m // b), c * (m // d)
    num = a2 + c2 if op == "+" else a2 - c2
    result = sp.Rational(a, b) + sp.Rational(c, d) if op == "+" else sp.Rational(a, b) - sp.Rational(c, d)
    assert sp.Rational(num, m) == result
    expr = f"\\frac{{{a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}}"
    steps = [
        f"We compute ${expr}$.",
        f"The least common denominator of ${b}$ and ${d}$ is ${m}$.",
        f"${expr} = \\frac{{{a2}}}{{{m}}} {op} \\frac{{{c2}}}{{{m}}} = \\frac{{{num}}}{{{m}}}$.",
    ]
    if sp.Rational(num, m).q != m:
        g = gcd(abs(num), m)
        steps.append(f"Divide the numerator and the denominator by ${g}$: $\\frac{{{num}}}{{{m}}} = {frac(num, m)}$.")
    steps.append(f"So ${expr} = {frac(num, m)}$.")
    program = Program(f"from sympy import Rational\n\nprint(Rational({a}, {b}) {op} Rational({c}, {d}))", str(result),
                      f"So ${expr} = {frac(num, m)}$.", frac(num, m))
    return Worked("fractions", f"Compute ${expr}$.", tuple(steps), frac(num, m), expr, "x", program)


FAMILIES = {
    "linear": linear_equation,
    "arithmetic": arithmetic,
    "multi": multi_operation,
    "expand": expand_product,
    "factor": factor_quadratic,
    "quadratic": quadratic_equation,
    "derivative": derivative,
    "series": arithmetic_series,
    "fractions": fractions,
}
