"""Problem families for the embedded model's corpus, each step checked with sympy.

Every generator takes a `random.Random` and returns a `Worked` value: the problem statement, the
solution steps in LaTeX, and the final answer. The steps are checked here, at generation time
(`_check*` helpers raise `AssertionError`), so a bug in a template can never teach the model a
wrong step. The solutions spell arithmetic out column by column: a model of a few million
parameters cannot add three-digit numbers in one token, but it can follow a written algorithm.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from math import gcd

import sympy as sp

X = sp.Symbol("x")


@dataclass(frozen=True)
class Worked:
    """A worked problem: `steps` are LaTeX lines, `answer` is the boxed final answer."""

    family: str
    problem: str
    steps: tuple[str, ...]
    answer: str


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
    out = ""
    n = len(coeffs) - 1
    for i, c in enumerate(coeffs):
        if c == 0:
            continue
        k = n - i
        mag = abs(c)
        body = ("" if mag == 1 and k > 0 else str(mag)) + ("x" if k >= 1 else "") + (f"^{k}" if k >= 2 else "")
        if not out:
            out = ("-" if c < 0 else "") + body
        else:
            out += (" - " if c < 0 else " + ") + body
    return out or "0"


def signed(n: int) -> str:
    """`+ n` or `- |n|` for writing a term after another."""
    return f"+ {n}" if n >= 0 else f"- {-n}"


def paren(n: int) -> str:
    """A number as it may follow an operator: negatives in parentheses."""
    return f"({n})" if n < 0 else str(n)


def _check_equation(lhs: str, rhs: str, root: sp.Expr) -> None:
    assert sp.simplify(sp.sympify(lhs).subs(X, root) - sp.sympify(rhs)) == 0, (lhs, rhs, root)


def linear_equation(rng: random.Random) -> Worked:
    """ax + b = c, with integer or fractional solutions, every sum and quotient worked out."""
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
    steps = [
        f"We want to isolate $x$ in ${lin(a, b)} = {c}$.",
        f"{'Subtract' if b > 0 else 'Add'} ${abs(b)}$ {'from' if b > 0 else 'to'} both sides: ${lin(a, 0)} = {c} {op} {abs(b)}$.",
        *sum_steps,
        f"Hence ${lin(a, 0)} = {rhs1}$.",
        f"Divide both sides by ${a}$: $x = \\frac{{{rhs1}}}{{{a}}}$.",
        *div_steps,
        f"The solution is $x = {answer}$.",
    ]
    return Worked("linear", f"Solve for $x$: ${lin(a, b)} = {c}$.", tuple(steps), answer)


_PLACES = ["ones", "tens", "hundreds", "thousands"]
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


def arithmetic(rng: random.Random) -> Worked:
    """Sums and differences of integers up to three digits, products by one digit."""
    kind = rng.choice(["+", "-", "*"])
    p = rng.randint(10, 999)
    q = rng.randint(10, 999) if kind == "+" else rng.randint(1, 999) if kind == "-" else rng.randint(2, 9)
    if kind == "-":
        p, q = max(p, q), min(p, q)
    steps, total = column_steps(p, kind, q)
    expr = f"{p} {_OPS[kind]} {q}"
    steps = ["We work column by column, starting from the ones.", *steps]
    return Worked("arithmetic", f"Compute ${expr}$.", tuple(steps), str(total))


def _pair(rng: random.Random) -> tuple[int, int]:
    a = rng.choice([n for n in range(-9, 10) if n != 0])
    b = rng.choice([n for n in range(-9, 10) if n != 0])
    return a, b


def expand_product(rng: random.Random) -> Worked:
    """(x+a)(x+b) expanded term by term."""
    a, b = _pair(rng)
    lhs = f"({lin(1, a)})({lin(1, b)})"
    mid = f"x^2 {signed(b)}x {signed(a)}x {signed(a * b)}".replace("+ 1x", "+ x").replace("- 1x", "- x")
    result = poly([1, a + b, a * b])
    assert sp.expand((X + a) * (X + b)) == sp.expand(X**2 + (a + b) * X + a * b)
    steps = (
        f"Multiply each term of ${lin(1, a)}$ by each term of ${lin(1, b)}$:",
        f"${lhs} = {mid}$.",
        f"Combine the like terms: ${signed(b)}x {signed(a)}x = {signed(a + b)}x$.".replace("= + ", "= "),
        f"So ${lhs} = {result}$.",
    )
    return Worked("expand", f"Expand ${lhs}$.", steps, result)


def factor_quadratic(rng: random.Random) -> Worked:
    """x^2 + px + q with integer roots, factored by the product-sum rule."""
    a, b = _pair(rng)
    a, b = min(a, b), max(a, b)
    p, q = a + b, a * b
    assert sp.factor(X**2 + p * X + q) == sp.factor((X + a) * (X + b))
    steps = (
        f"We need two numbers whose product is ${q}$ and whose sum is ${p}$.",
        f"They are ${a}$ and ${b}$: ${paren(a)} \\cdot {paren(b)} = {q}$ and ${paren(a)} + {paren(b)} = {p}$.",
        f"So ${poly([1, p, q])} = ({lin(1, a)})({lin(1, b)})$.",
    )
    return Worked("factor", f"Factor ${poly([1, p, q])}$.", steps, f"({lin(1, a)})({lin(1, b)})")


def quadratic_equation(rng: random.Random) -> Worked:
    """x^2 + px + q = 0 with integer roots, solved by factoring."""
    a, b = _pair(rng)
    while a == b:
        a, b = _pair(rng)
    a, b = min(a, b), max(a, b)
    p, q = a + b, a * b
    r1, r2 = sorted({-a, -b})
    assert set(sp.solve(X**2 + p * X + q, X)) == {r1, r2}
    roots = f"{r1}, {r2}"
    steps = (
        f"We factor ${poly([1, p, q])}$: we need two numbers with product ${q}$ and sum ${p}$, "
        f"namely ${a}$ and ${b}$.",
        f"So the equation is $({lin(1, a)})({lin(1, b)}) = 0$.",
        f"A product is zero when a factor is zero: ${lin(1, a)} = 0$ or ${lin(1, b)} = 0$.",
        f"Hence $x = {-a}$ or $x = {-b}$.",
    )
    return Worked("quadratic", f"Solve $ {poly([1, p, q])} = 0$.".replace("$ ", "$"), steps, roots)


def derivative(rng: random.Random) -> Worked:
    """Derivatives of polynomials, term by term with the power rule."""
    deg = rng.randint(2, 4)
    coeffs = [rng.choice([n for n in range(-9, 10) if n != 0])] + [rng.randint(-9, 9) for _ in range(deg)]
    f = sum(c * X ** (deg - i) for i, c in enumerate(coeffs))
    dcoeffs = [c * (deg - i) for i, c in enumerate(coeffs[:-1])]
    df = poly(dcoeffs)
    assert sp.expand(sp.diff(f, X) - sum(c * X ** (deg - 1 - i) for i, c in enumerate(dcoeffs))) == 0
    steps = ["We differentiate term by term with the power rule $\\frac{d}{dx} x^n = n x^{n-1}$."]
    for i, c in enumerate(coeffs[:-1]):
        k = deg - i
        if c == 0:
            continue
        steps.append(f"$\\frac{{d}}{{dx}}\\left({poly([c] + [0] * k)}\\right) = {c} \\cdot {k} x^{{{k - 1}}} = {poly([c * k] + [0] * (k - 1))}$.")
    if coeffs[-1]:
        steps.append(f"The constant ${coeffs[-1]}$ has derivative $0$.")
    steps.append(f"So $f'(x) = {df}$.")
    return Worked("derivative", f"Find the derivative of $f(x) = {poly(coeffs)}$.", tuple(steps), df)


def arithmetic_series(rng: random.Random) -> Worked:
    """Sums a + (a+d) + ... + l by the formula n(a+l)/2, halving whichever factor is even."""
    a = rng.randint(1, 12)
    d = rng.randint(1, 6)
    n = rng.randint(4, 9)
    last = a + (n - 1) * d
    total = n * (a + last) // 2
    assert sp.summation(a + (sp.Symbol("k") - 1) * d, (sp.Symbol("k"), 1, n)) == total
    terms = f"{a} + {a + d} + {a + 2 * d} + \\dots + {last}"
    add, s = column_steps(last, "+", a)
    if n % 2 == 0:
        half = f"Since ${n}$ is even, $\\frac{{{n}}}{{2}} = {n // 2}$ and the sum is ${s} \\times {n // 2}$."
        mul, got = column_steps(s, "*", n // 2)
    else:
        half = f"Since ${n}$ is odd, ${s}$ is even: $\\frac{{{s}}}{{2}} = {s // 2}$ and the sum is ${s // 2} \\times {n}$."
        mul, got = column_steps(s // 2, "*", n)
    assert got == total
    steps = (
        f"This is an arithmetic series with first term ${a}$, common difference ${d}$ and last term ${last}$.",
        f"The number of terms is $n = \\frac{{{last} - {a}}}{{{d}}} + 1 = {n}$.",
        f"The sum is $\\frac{{n(a + l)}}{{2}}$ with $a + l = {last} + {a}$.",
        *add,
        half,
        *mul,
        f"The sum is ${total}$.",
    )
    return Worked("series", f"Compute ${terms}$.", steps, str(total))


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
        f"The least common denominator of ${b}$ and ${d}$ is ${m}$.",
        f"${expr} = \\frac{{{a2}}}{{{m}}} {op} \\frac{{{c2}}}{{{m}}} = \\frac{{{num}}}{{{m}}}$.",
    ]
    if sp.Rational(num, m).q != m:
        g = gcd(abs(num), m)
        steps.append(f"Divide the numerator and the denominator by ${g}$: $\\frac{{{num}}}{{{m}}} = {frac(num, m)}$.")
    steps.append(f"So ${expr} = {frac(num, m)}$.")
    return Worked("fractions", f"Compute ${expr}$.", tuple(steps), frac(num, m))


FAMILIES = {
    "linear": linear_equation,
    "arithmetic": arithmetic,
    "expand": expand_product,
    "factor": factor_quadratic,
    "quadratic": quadratic_equation,
    "derivative": derivative,
    "series": arithmetic_series,
    "fractions": fractions,
}
