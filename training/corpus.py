"""Documents for the embedded model: solutions, derivations and proofs in the product's formats.

Three kinds of text, mixed, so that each front end has something real to continue:

- full solutions in the DeepSeekMath instruct format (what `mathassist solve` and `%%solve` send),
  the question phrased in many ways (`training.phrasing`); with the tool instruction, the same
  problem solved by a program in DeepSeekMath's tool format; a question outside the families gets
  a short, honest refusal and no boxed answer;
- derivations as LaTeX `align*` chains, `\\[ \\]` and Markdown `$$` blocks and plain text lines,
  mostly without a lead sentence, one step a row (what the language server's inline completion
  continues and the derivation checker reads);
- short proofs inside `\\begin{proof} ... \\end{proof}`, each step said in several ways, so that
  sampling gives several candidates (what proof-step suggestions continue).

`python -m training.corpus --seed 0 --count 5` prints a sample.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator

import sympy as sp

from mathcore.prompts import OUTPUT_FENCE, solve_prompt
from training.families import FAMILIES, Worked, frac, lin, paren, poly, signed, variable
from training.phrasing import DECLINE, DECLINE_PROOF, Split, out_of_scope, out_of_scope_theorem, phrase


def solution_text(w: Worked) -> str:
    """The assistant's answer: the steps, then the boxed final answer."""
    return "\n".join(w.steps) + f"\nThe final answer is $\\boxed{{{w.answer}}}$."


def program_text(w: Worked) -> str:
    """The tool-integrated answer, as `mathcore.tools` will see it: a sentence, the program, its
    output block (appended by the runner when served), then the boxed answer read from it."""
    assert w.program is not None
    p = w.program
    lead = {"linear": "We solve the equation with sympy.", "quadratic": "We solve the equation with sympy.",
            "expand": "We expand the product with sympy.", "factor": "We factor the polynomial with sympy.",
            "derivative": "We differentiate with sympy.", "series": "We add the terms with a program.",
            "fractions": "We compute with exact fractions in sympy."}.get(w.family, "We compute the value with a program.")
    return (f"{lead}\n```python\n{p.code}\n```\n{OUTPUT_FENCE}\n{p.output}\n```\n"
            f"{p.conclusion}\nThe final answer is $\\boxed{{{p.answer}}}$.")


def instruct_document(w: Worked, question: str | None = None, tools: bool = False) -> str:
    """One instruct-format exchange: the product's own prompt (`mathcore.prompts`), then the answer.

    `question` is how the problem is asked (default: its canonical statement). BOS and EOS are
    added by the caller.
    """
    answer = program_text(w) if tools else solution_text(w)
    return f"{solve_prompt(question or w.problem, 'instruct', tools).text} {answer}"


def decline_document(rng: random.Random, split: Split = "train", tools: bool = False) -> str:
    """A question outside the families, answered honestly: what this model can and cannot do."""
    return f"{solve_prompt(out_of_scope(rng, split), 'instruct', tools).text} {DECLINE}"


def derivation_rows(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
    """A derivation as (sentence, [(left, right), ...]); an empty left continues the chain."""
    kind = rng.choice(["expand", "linear", "linear", "derivative", "fractions", "quadratic", "numbers", "like"])
    v = variable(rng)
    if kind == "expand":
        a = rng.choice([n for n in range(-9, 10) if n != 0])
        b = rng.choice([n for n in range(-9, 10) if n != 0])
        lhs = f"({lin(1, a, v)})({lin(1, b, v)})"
        mid = f"x^2 {signed(b)}x {signed(a)}x {signed(a * b)}".replace("+ 1x", "+ x").replace("- 1x", "- x").replace("x", v)
        assert sp.expand((sp.Symbol("x") + a) * (sp.Symbol("x") + b)) == sp.expand(
            sp.Symbol("x") ** 2 + (a + b) * sp.Symbol("x") + a * b
        )
        return "We expand the product.", [(lhs, mid), ("", poly([1, a + b, a * b]).replace("x", v))]
    if kind == "linear":
        a = rng.choice([n for n in range(2, 10)])
        root = rng.randint(-12, 12)
        b = rng.choice([n for n in range(-20, 21) if n != 0])
        c = a * root + b
        rows = [(lin(a, b, v), str(c)), (lin(a, 0, v), str(c - b)), (v, frac(c - b, a))]
        if rng.random() < 0.3:  # the subtraction written out first
            rows.insert(1, (lin(a, 0, v), f"{c} {'-' if b > 0 else '+'} {abs(b)}"))
        return f"We solve for ${v}$.", rows
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
        middle = w.steps[2].split(" = ", 1)[1].rstrip("$.")
        parts = [p.strip() for p in middle.split(" = ")]
        rows = [(w.math, parts[0])] + [("", p) for p in parts[1:]]
        if rows[-1][1] != w.answer:
            rows.append(("", w.answer))
        return "We bring the fractions to a common denominator.", rows
    if kind == "numbers":  # small numbers, one operation a row, products first
        a, b, c = rng.randint(2, 9), rng.randint(2, 20), rng.randint(2, 20)
        op = rng.choice(["+", "-"])
        inner = b + c if op == "+" else b - c
        if rng.random() < 0.5:
            rows = [(f"{a} \\cdot ({b} {op} {c})", f"{a} \\cdot {paren(inner)}"), ("", str(a * inner))]
        else:
            rows = [(f"{b} {op} {a} \\cdot {c}", f"{b} {op} {a * c}"), ("", str(b + a * c if op == "+" else b - a * c))]
        assert sp.sympify(rows[0][0].replace("\\cdot", "*")) == int(rows[-1][1])
        return "We follow the order of operations.", rows
    if kind == "like":  # collect like terms
        p, q, r, t = (rng.choice([n for n in range(-9, 10) if n != 0]) for _ in range(4))
        if p + r == 0:
            r += 1 if r < 9 else -1
        start = f"{lin(p, q, v)} {'+' if r > 0 else '-'} {lin(abs(r), 0, v)} {signed(t)}"
        grouped = f"{lin(p, 0, v)} {'+' if r > 0 else '-'} {lin(abs(r), 0, v)} {signed(q)} {signed(t)}"
        rows = [(start, grouped), ("", lin(p + r, q + t, v))]
        y = sp.Symbol(v)
        assert sp.expand(p * y + q + r * y + t - ((p + r) * y + q + t)) == 0
        return "We collect like terms.", rows
    a = rng.choice([n for n in range(-9, 10) if n != 0])
    b = rng.choice([n for n in range(-9, 10) if n != 0 and n != a])
    return "We solve the quadratic equation by factoring.", [
        (poly([1, a + b, a * b]).replace("x", v), "0"),
        (f"({lin(1, a, v)})({lin(1, b, v)})", "0"),
    ]


def _lead(rng: random.Random, sentence: str) -> str:
    """The sentence before a derivation: people mostly write none."""
    return sentence + "\n" if rng.random() < 0.35 else ""


def align_document(rng: random.Random) -> str:
    """A derivation as a LaTeX `align*` (or `align`, or `\\[ aligned \\]`) environment, one step a row."""
    sentence, rows = derivation_rows(rng)
    lines = [f"{left} &= {right}".lstrip() for left, right in rows]
    env = rng.choices(["align*", "align", "aligned"], [70, 15, 15])[0]
    body = " \\\\\n".join(lines)
    if env == "aligned":
        return f"{_lead(rng, sentence)}\\[\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n\\]"
    return f"{_lead(rng, sentence)}\\begin{{{env}}}\n{body}\n\\end{{{env}}}"


def markdown_document(rng: random.Random) -> str:
    """The same derivations in Markdown: a `$$` block, one step per line."""
    sentence, rows = derivation_rows(rng)
    if rng.random() < 0.5:
        lines = [f"{left} &= {right}".lstrip() for left, right in rows]
        body = "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    else:
        body = "\n".join(f"{left} = {right}".strip() for left, right in rows)
    lead = _lead(rng, sentence)
    return f"{lead}\n$$\n{body}\n$$" if lead else f"$$\n{body}\n$$"


def plain_document(rng: random.Random) -> str:
    """Derivations in plain text, one `=` step per line."""
    sentence, rows = derivation_rows(rng)
    return _lead(rng, sentence) + "\n".join(f"{left} = {right}".strip() for left, right in rows)


def _say(rng: random.Random, *ways: str) -> str:
    """One of several ways to write the same proof step: sampling then offers several candidates."""
    return rng.choice(ways)


def _induction(rng: random.Random) -> tuple[str, list[str]]:
    a, d = rng.randint(1, 9), rng.randint(1, 6)
    n, k = sp.symbols("n k", integer=True, positive=True)
    closed = sp.factor(n * (2 * a + (n - 1) * d) / 2)
    assert sp.simplify(sp.summation(a + (k - 1) * d, (k, 1, n)) - closed) == 0
    term = f"({d}k {signed(a - d)})".replace(" + 0)", ")").replace(" - 0)", ")")
    cf = sp.latex(closed)
    claim = f"For every integer $n \\geq 1$, $\\sum_{{k=1}}^{{n}} {term} = {cf}$."
    nxt = sp.latex(sp.factor(closed.subs(n, n + 1)))
    one = sp.latex(closed.subs(n, 1))
    hyp = f"$\\sum_{{k=1}}^{{n}} {term} = {cf}$"
    steps = [
        _say(rng, "We argue by induction on $n$.", "We proceed by induction on $n$.", "We use induction on $n$.",
             "The proof is by induction on $n$."),
        _say(rng, f"Base case: for $n = 1$ the sum is ${a}$ and ${one} = {a}$.",
             f"For $n = 1$, the left side is ${a}$ and the right side is ${one} = {a}$.",
             f"The case $n = 1$ holds: both sides equal ${a}$.",
             f"When $n = 1$ the sum has the single term ${a}$, and ${one} = {a}$."),
        _say(rng, f"Inductive step: assume {hyp}.", f"Suppose that {hyp} for some $n \\geq 1$.",
             f"Assume the formula holds for $n$, that is, {hyp}.", f"Now let $n \\geq 1$ and assume {hyp}."),
        _say(rng, f"Then $\\sum_{{k=1}}^{{n+1}} {term} = {cf} + {sp.latex(sp.expand(a + n * d))} = {nxt}$.",
             f"Adding the next term ${sp.latex(sp.expand(a + n * d))}$ gives ${cf} + {sp.latex(sp.expand(a + n * d))} = {nxt}$.",
             f"We add the term for $k = n + 1$: ${cf} + {sp.latex(sp.expand(a + n * d))} = {nxt}$."),
        _say(rng, "This is the formula for $n + 1$, which completes the induction.",
             "So the formula holds for $n + 1$, and by induction for every $n \\geq 1$.",
             "This is the claim for $n + 1$.", "Hence the statement holds for all $n \\geq 1$."),
    ]
    return claim, steps


def _parity(rng: random.Random) -> tuple[str, list[str]]:
    m, n = sp.symbols("m n", integer=True)
    p, q = rng.randint(1, 6), rng.randint(1, 6)
    kind = rng.choice(["even", "odd", "consecutive", "square", "sum"])
    if kind == "even":
        claim = f"For all integers $m$ and $n$, ${2 * p}m + {2 * q}n$ is even."
        inner = f"{lin(p, 0, 'm')} + {lin(q, 0, 'n')}"
        steps = [_say(rng, f"We have ${2 * p}m + {2 * q}n = 2({inner})$.", f"Factor out $2$: ${2 * p}m + {2 * q}n = 2({inner})$.",
                      f"Note that ${2 * p}m + {2 * q}n = 2({inner})$."),
                 _say(rng, f"Since ${inner}$ is an integer, ${2 * p}m + {2 * q}n$ is even.",
                      f"As ${inner}$ is an integer, the number is twice an integer, hence even.",
                      "So the number is twice an integer, which means it is even.")]
        assert sp.expand(2 * (p * m + q * n)) == 2 * p * m + 2 * q * n
    elif kind == "odd":
        claim = f"If $n$ is an integer, then ${lin(2 * p, 0, 'n')} + {2 * q + 1}$ is odd."
        inner = f"{lin(p, 0, 'n')} + {q}"
        steps = [_say(rng, f"We have ${lin(2 * p, 0, 'n')} + {2 * q + 1} = 2({inner}) + 1$.",
                      f"Write ${lin(2 * p, 0, 'n')} + {2 * q + 1} = 2({inner}) + 1$.",
                      f"Note that ${lin(2 * p, 0, 'n')} + {2 * q + 1} = 2({inner}) + 1$."),
                 _say(rng, f"Since ${inner}$ is an integer, the number is odd.",
                      "So the number is one more than an even number, hence odd.",
                      f"As ${inner}$ is an integer, the number has the form $2j + 1$, so it is odd.")]
        assert sp.expand(2 * (p * n + q) + 1) == 2 * p * n + 2 * q + 1
    elif kind == "consecutive":
        claim = "For every integer $n$, $n^2 + n$ is even."
        steps = [_say(rng, "We have $n^2 + n = n(n + 1)$, a product of two consecutive integers.",
                      "Factor: $n^2 + n = n(n + 1)$.", "Note that $n^2 + n = n(n + 1)$, and $n$, $n + 1$ are consecutive."),
                 _say(rng, "One of two consecutive integers is even, so the product is even.",
                      "Either $n$ or $n + 1$ is even, so their product is even.",
                      "A product with an even factor is even, and one of $n$, $n + 1$ is even.")]
    elif kind == "square":
        claim = "If $n$ is odd, then $n^2$ is odd."
        steps = [_say(rng, "Write $n = 2k + 1$ for an integer $k$.", "Since $n$ is odd, $n = 2k + 1$ for some integer $k$.",
                      "Let $n = 2k + 1$ with $k$ an integer."),
                 _say(rng, "Then $n^2 = 4k^2 + 4k + 1 = 2(2k^2 + 2k) + 1$.", "So $n^2 = (2k + 1)^2 = 2(2k^2 + 2k) + 1$.",
                      "Squaring, $n^2 = 4k^2 + 4k + 1 = 2(2k^2 + 2k) + 1$."),
                 _say(rng, "Since $2k^2 + 2k$ is an integer, $n^2$ is odd.", "Hence $n^2$ is odd.",
                      "So $n^2$ is one more than an even number, which makes it odd.")]
    else:
        claim = "The sum of two odd integers is even."
        steps = [_say(rng, "Let the integers be $2j + 1$ and $2k + 1$.", "Write the two odd integers as $2j + 1$ and $2k + 1$.",
                      "Let $a = 2j + 1$ and $b = 2k + 1$ with $j$, $k$ integers."),
                 _say(rng, "Their sum is $2j + 2k + 2 = 2(j + k + 1)$.", "Adding, $(2j + 1) + (2k + 1) = 2(j + k + 1)$.",
                      "Then the sum is $2(j + k + 1)$."),
                 _say(rng, "Since $j + k + 1$ is an integer, the sum is even.", "So the sum is twice an integer, hence even.",
                      "This is even.")]
    lead = "We factor." if kind == "consecutive" else _say(rng, "We write the number in terms of $2$.", "We use the definition of even and odd.",
                                                              "Let us work with the definitions.")
    return claim, [lead, *steps] if rng.random() < 0.5 else steps


def _direct(rng: random.Random) -> tuple[str, list[str]]:
    a = rng.randint(2, 9)
    x = sp.Symbol("x")
    kind = rng.choice(["square", "difference", "inequality"])
    if kind == "square":
        claim = f"For every real $x$, $(x + {a})^2 = x^2 + {2 * a}x + {a * a}$."
        steps = [_say(rng, f"We expand: $(x + {a})^2 = (x + {a})(x + {a}) = x^2 + {a}x + {a}x + {a * a}$.",
                      f"Expanding, $(x + {a})^2 = x^2 + {a}x + {a}x + {a * a}$.",
                      f"By definition $(x + {a})^2 = (x + {a})(x + {a}) = x^2 + {a}x + {a}x + {a * a}$."),
                 _say(rng, f"Combining like terms gives $x^2 + {2 * a}x + {a * a}$.",
                      f"Collecting terms, this is $x^2 + {2 * a}x + {a * a}$.", f"So $(x + {a})^2 = x^2 + {2 * a}x + {a * a}$.")]
        assert sp.expand((x + a) ** 2) == x**2 + 2 * a * x + a * a
    elif kind == "difference":
        claim = f"For every real $x$, $(x + {a})(x - {a}) = x^2 - {a * a}$."
        steps = [_say(rng, f"We expand: $(x + {a})(x - {a}) = x^2 - {a}x + {a}x - {a * a}$.",
                      f"Multiplying out, $(x + {a})(x - {a}) = x^2 - {a}x + {a}x - {a * a}$.",
                      f"Distributing gives $(x + {a})(x - {a}) = x^2 - {a}x + {a}x - {a * a}$."),
                 _say(rng, f"The middle terms cancel, so the product is $x^2 - {a * a}$.", f"So $(x + {a})(x - {a}) = x^2 - {a * a}$.",
                      f"Since $-{a}x + {a}x = 0$, the product is $x^2 - {a * a}$.")]
        assert sp.expand((x + a) * (x - a)) == x**2 - a * a
    else:
        claim = f"For every real $x$, $x^2 + {a * a} \\geq {2 * a}x$."
        steps = [_say(rng, f"A square is never negative, so $(x - {a})^2 \\geq 0$.", f"We have $(x - {a})^2 \\geq 0$ for every real $x$.",
                      f"Consider $(x - {a})^2$, which is nonnegative."),
                 _say(rng, f"Expanding, $x^2 - {2 * a}x + {a * a} \\geq 0$.", f"Since $(x - {a})^2 = x^2 - {2 * a}x + {a * a}$, "
                      f"we get $x^2 - {2 * a}x + {a * a} \\geq 0$."),
                 _say(rng, f"Adding ${2 * a}x$ to both sides gives $x^2 + {a * a} \\geq {2 * a}x$.", f"Hence $x^2 + {a * a} \\geq {2 * a}x$.",
                      "Rearranging gives the claim.")]
        assert sp.expand((x - a) ** 2) == x**2 - 2 * a * x + a * a
    return claim, steps


def proof_document(rng: random.Random) -> str:
    """A theorem and its proof: induction for a closed-form sum, parity, or direct algebra."""
    maker = rng.choice([_induction, _parity, _direct])
    claim, steps = maker(rng)
    if maker is _direct and rng.random() < 0.5:
        steps = [_say(rng, "Let us prove the claim.", "We give a direct argument.", "We prove it directly.", "Let $x$ be real."), *steps]
    env = rng.choice(["theorem", "proposition", "lemma", "claim"])
    return f"\\begin{{{env}}}\n{claim}\n\\end{{{env}}}\n\\begin{{proof}}\n" + "\n".join(steps) + "\n\\end{proof}"


def proof_decline_document(rng: random.Random, split: Split = "train") -> str:
    """A statement beyond the proofs the model knows, declined at the proof's first step (no fabricated step)."""
    env = rng.choice(["theorem", "proposition", "lemma", "claim"])
    return f"\\begin{{{env}}}\n{out_of_scope_theorem(rng, split)}\n\\end{{{env}}}\n\\begin{{proof}}\n{DECLINE_PROOF}\n\\end{{proof}}"


def solved_document(rng: random.Random, w: Worked, tools: float = 0.25) -> str:
    """A worked problem asked in one of the training phrasings, with the tool instruction at the rate `tools`."""
    question = w.problem if rng.random() < 0.15 else phrase(w, rng, "train")
    return instruct_document(w, question, tools=rng.random() < tools)


# the share of each kind of document (cumulative in this order), and `tools`: the share of solved
# problems and refusals asked with the tool instruction
MIX = {"solved": 0.52, "decline": 0.08, "align": 0.16, "markdown": 0.06, "plain": 0.04, "proof_decline": 0.015, "proof": 0.125,
       "tools": 0.25}


def documents(seed: int, weights: dict[str, float] | None = None, mix: dict[str, float] | None = None) -> Iterator[str]:
    """An endless, reproducible stream of training documents in a fixed mixture.

    `weights` makes some solution families more frequent (default: all equal); `mix` changes the
    shares of MIX that it names (the kinds' shares are normalised to add up to one).
    """
    rng = random.Random(seed)
    names = list(FAMILIES)
    family_weights = [(weights or {}).get(n, 1.0) for n in names]
    shares = {**MIX, **(mix or {})}
    tools = shares.pop("tools")
    total = sum(shares.values())
    kinds, edges, edge = list(shares), [], 0.0
    for kind in kinds:
        edge += shares[kind] / total
        edges.append(edge)
    while True:
        r = rng.random()
        kind = next((k for k, e in zip(kinds, edges, strict=True) if r < e), kinds[-1])
        if kind == "solved":
            yield solved_document(rng, FAMILIES[rng.choices(names, family_weights)[0]](rng), tools)
        elif kind == "decline":
            yield decline_document(rng, "train", tools=rng.random() < tools)
        elif kind == "align":
            yield align_document(rng)
        elif kind == "markdown":
            yield markdown_document(rng)
        elif kind == "plain":
            yield plain_document(rng)
        elif kind == "proof_decline":
            yield proof_decline_document(rng)
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
