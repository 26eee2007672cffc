"""Documents for the embedded model: solutions, derivations and proofs in the product's formats.

Three kinds of text, mixed, so that each front end has something real to continue:

- full solutions in the DeepSeekMath instruct format (what `mathassist solve` and `%%solve` send);
- derivations as LaTeX `align*` chains, Markdown `$$` blocks and plain text lines (what the
  language server's inline completion continues);
- short proofs inside `\\begin{proof} ... \\end{proof}` (what proof-step suggestions continue).

`python -m training.corpus --seed 0 --count 5` prints a sample.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator

import sympy as sp

from mathcore.prompts import solve_prompt
from training.families import FAMILIES, Worked, frac, lin, poly, signed


def solution_text(w: Worked) -> str:
    """The assistant's answer: the steps, then the boxed final answer."""
    return "\n".join(w.steps) + f"\nThe final answer is $\\boxed{{{w.answer}}}$."


def instruct_document(w: Worked) -> str:
    """One instruct-format exchange: the product's own prompt (`mathcore.prompts`), then the answer.

    BOS and EOS are added by the caller.
    """
    return f"{solve_prompt(w.problem, 'instruct').text} {solution_text(w)}"


def _chain(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
    """A derivation as (sentence, [(left, right), ...]); an empty left continues the chain."""
    kind = rng.choice(["expand", "linear", "derivative", "fractions", "quadratic"])
    if kind == "expand":
        a = rng.choice([n for n in range(-9, 10) if n != 0])
        b = rng.choice([n for n in range(-9, 10) if n != 0])
        lhs = f"({lin(1, a)})({lin(1, b)})"
        mid = f"x^2 {signed(b)}x {signed(a)}x {signed(a * b)}".replace("+ 1x", "+ x").replace("- 1x", "- x")
        assert sp.expand((sp.Symbol("x") + a) * (sp.Symbol("x") + b)) == sp.expand(
            sp.Symbol("x") ** 2 + (a + b) * sp.Symbol("x") + a * b
        )
        return "We expand the product.", [(lhs, mid), ("", poly([1, a + b, a * b]))]
    if kind == "linear":
        a = rng.choice([n for n in range(2, 10)])
        root = rng.randint(-12, 12)
        b = rng.choice([n for n in range(-20, 21) if n != 0])
        c = a * root + b
        return "We solve for $x$.", [(lin(a, b), str(c)), (lin(a, 0), str(c - b)), ("x", frac(c - b, a))]
    if kind == "derivative":
        deg = rng.randint(2, 4)
        co = [rng.choice([n for n in range(-9, 10) if n != 0])] + [rng.randint(-9, 9) for _ in range(deg)]
        mid = " ".join(
            (f"{c} \\cdot {deg - i}x^{{{deg - i - 1}}}" if i == 0 else f"{signed(c)} \\cdot {deg - i}x^{{{deg - i - 1}}}")
            for i, c in enumerate(co[:-1])
            if c
        )
        d = poly([c * (deg - i) for i, c in enumerate(co[:-1])])
        return "We differentiate term by term.", [("f'(x)", f"\\frac{{d}}{{dx}}\\left({poly(co)}\\right)"), ("", mid), ("", d)]
    if kind == "fractions":
        w = FAMILIES["fractions"](rng)
        expr = w.problem.removeprefix("Compute $").removesuffix("$.")
        middle = w.steps[1].split(" = ", 1)[1].rstrip("$.")
        parts = [p.strip() for p in middle.split(" = ")]
        rows = [(expr, parts[0])] + [("", p) for p in parts[1:]]
        if rows[-1][1] != w.answer:
            rows.append(("", w.answer))
        return "We bring the fractions to a common denominator.", rows
    a = rng.choice([n for n in range(-9, 10) if n != 0])
    b = rng.choice([n for n in range(-9, 10) if n != 0 and n != a])
    return "We solve the quadratic equation by factoring.", [
        (poly([1, a + b, a * b]), "0"),
        (f"({lin(1, a)})({lin(1, b)})", "0"),
    ]


def align_document(rng: random.Random) -> str:
    """A derivation as a LaTeX `align*` environment, one `&=` step per line."""
    sentence, rows = _chain(rng)
    lines = [f"{left} &= {right}".lstrip() for left, right in rows]
    return f"{sentence}\n\\begin{{align*}}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"


def markdown_document(rng: random.Random) -> str:
    """The same derivations in Markdown: a `$$` block, one step per line."""
    sentence, rows = _chain(rng)
    if rng.random() < 0.5:
        lines = [f"{left} &= {right}".lstrip() for left, right in rows]
        body = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    else:
        body = "\n".join(f"{left} = {right}".strip() for left, right in rows)
    return f"{sentence}\n\n$$\n{body}\n$$"


def plain_document(rng: random.Random) -> str:
    """Derivations in plain text, one `=` step per line."""
    sentence, rows = _chain(rng)
    return sentence + "\n" + "\n".join(f"{left} = {right}".strip() for left, right in rows)


def _induction(rng: random.Random) -> tuple[str, list[str]]:
    a, d = rng.randint(1, 9), rng.randint(1, 6)
    n, k = sp.symbols("n k", integer=True, positive=True)
    closed = sp.factor(n * (2 * a + (n - 1) * d) / 2)
    assert sp.simplify(sp.summation(a + (k - 1) * d, (k, 1, n)) - closed) == 0
    term = f"{a + d - d}" if d == 0 else f"({d}k {signed(a - d)})".replace(" + 0)", ")").replace(" - 0)", ")")
    cf = sp.latex(closed)
    claim = f"For every integer $n \\geq 1$, $\\sum_{{k=1}}^{{n}} {term} = {cf}$."
    nxt = sp.latex(sp.factor(closed.subs(n, n + 1)))
    steps = [
        rng.choice(["We argue by induction on $n$.", "We proceed by induction on $n$.", "We use induction on $n$."]),
        f"Base case: for $n = 1$ the sum is ${a}$ and ${sp.latex(closed.subs(n, 1))} = {a}$.",
        f"Inductive step: assume $\\sum_{{k=1}}^{{n}} {term} = {cf}$.",
        f"Then $\\sum_{{k=1}}^{{n+1}} {term} = {cf} + {sp.latex(sp.expand(a + n * d))} = {nxt}$.",
        "This is the formula for $n + 1$, which completes the induction.",
    ]
    return claim, steps


def _parity(rng: random.Random) -> tuple[str, list[str]]:
    m, n = sp.symbols("m n", integer=True)
    p, q = rng.randint(1, 6), rng.randint(1, 6)
    kind = rng.choice(["even", "odd", "consecutive"])
    if kind == "even":
        claim = f"For all integers $m$ and $n$, ${2 * p}m + {2 * q}n$ is even."
        steps = [f"We have ${2 * p}m + {2 * q}n = 2({lin(p, 0, 'm')} + {lin(q, 0, 'n')})$.",
                 f"Since ${lin(p, 0, 'm')} + {lin(q, 0, 'n')}$ is an integer, ${2 * p}m + {2 * q}n$ is even."]
        assert sp.expand(2 * (p * m + q * n)) == 2 * p * m + 2 * q * n
    elif kind == "odd":
        claim = f"If $n$ is odd, then ${lin(2 * p, 0, 'n')} + {2 * q + 1}$ is odd."
        steps = [f"We have ${lin(2 * p, 0, 'n')} + {2 * q + 1} = 2({lin(p, 0, 'n')} + {q}) + 1$.",
                 f"Since ${lin(p, 0, 'n')} + {q}$ is an integer, the number is odd."]
        assert sp.expand(2 * (p * n + q) + 1) == 2 * p * n + 2 * q + 1
    else:
        claim = "For every integer $n$, $n^2 + n$ is even."
        steps = ["We have $n^2 + n = n(n + 1)$, a product of two consecutive integers.",
                 "One of two consecutive integers is even, so the product is even."]
    return claim, ["We write the number as twice an integer." if kind != "consecutive" else "We factor.", *steps]


def _direct(rng: random.Random) -> tuple[str, list[str]]:
    a = rng.randint(2, 9)
    x = sp.Symbol("x")
    kind = rng.choice(["square", "difference"])
    if kind == "square":
        claim = f"For every real $x$, $(x + {a})^2 = x^2 + {2 * a}x + {a * a}$."
        steps = [f"We expand: $(x + {a})^2 = (x + {a})(x + {a}) = x^2 + {a}x + {a}x + {a * a}$.",
                 f"Combining like terms gives $x^2 + {2 * a}x + {a * a}$."]
        assert sp.expand((x + a) ** 2) == x**2 + 2 * a * x + a * a
    else:
        claim = f"For every real $x$, $(x + {a})(x - {a}) = x^2 - {a * a}$."
        steps = [f"We expand: $(x + {a})(x - {a}) = x^2 - {a}x + {a}x - {a * a}$.",
                 f"The middle terms cancel, so the product is $x^2 - {a * a}$."]
        assert sp.expand((x + a) * (x - a)) == x**2 - a * a
    return claim, steps


def proof_document(rng: random.Random) -> str:
    """A theorem and its proof: induction for a closed-form sum, parity, or direct algebra."""
    maker = rng.choice([_induction, _parity, _direct])
    claim, steps = maker(rng)
    if maker is not _induction and rng.random() < 0.5:
        steps = [rng.choice(["Let us prove the claim.", "We give a direct argument."]), *steps]
    env = rng.choice(["theorem", "proposition", "lemma"])
    return f"\\begin{{{env}}}\n{claim}\n\\end{{{env}}}\n\\begin{{proof}}\n" + "\n".join(steps) + "\n\\end{proof}"


def documents(seed: int, weights: dict[str, float] | None = None) -> Iterator[str]:
    """An endless, reproducible stream of training documents in a fixed mixture.

    `weights` makes some solution families more frequent (default: all equal).
    """
    rng = random.Random(seed)
    names = list(FAMILIES)
    family_weights = [(weights or {}).get(n, 1.0) for n in names]
    while True:
        r = rng.random()
        if r < 0.55:
            yield instruct_document(FAMILIES[rng.choices(names, family_weights)[0]](rng))
        elif r < 0.75:
            yield align_document(rng)
        elif r < 0.82:
            yield markdown_document(rng)
        elif r < 0.87:
            yield plain_document(rng)
        else:
            yield proof_document(rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=8)
    args = parser.parse_args()
    stream = documents(args.seed)
    for _ in range(args.count):
        print(next(stream), end="\n\n----\n\n")


if __name__ == "__main__":
    main()
