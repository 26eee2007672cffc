"""The many ways people ask for the same problem, generated, with some ways held out of training.

A problem is asked through a template (`Solve {m} for {v}.`), and its mathematics is written in
one of several surface styles: with or without `$`, `\\times`, `\\cdot` or `*`, `a/b` or
`\\frac{a}{b}`, tight or loose spacing, a polite prefix, lower case, no final full stop. The
templates of each kind are split in two: `TRAIN` ones make the corpus, `HELD_OUT` ones are used
only by `training.evaluate`, so its score says how the model does on phrasings it never saw.
Out-of-scope questions (`out_of_scope`) are split the same way.
"""

from __future__ import annotations

import random
import re
from typing import Literal

from training.families import Worked

Split = Literal["train", "held_out"]

# {m}: the mathematics; {v}: the variable; {n}, {s}: a series' number of terms and sequence;
# {f}: `f(x) = ...`; {fp}: `f'(x)`; {ddv}: `\frac{d}{dx}(...)`.
TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "linear": ([
        "Solve for {v}: {m}.", "Solve {m}.", "Solve {m} for {v}.", "Solve the equation {m}.", "Find {v} if {m}.",
        "Find {v}: {m}.", "What is {v} if {m}?", "If {m}, what is {v}?", "Find the value of {v} that satisfies {m}.",
        "Find the value of {v} in the equation {m}.", "What value of {v} satisfies {m}?", "{m}. Solve for {v}.",
        "Given {m}, find {v}.", "Solve for the unknown {v} in {m}.", "{m}", "Find {v} in {m}.",
    ], [
        "Determine {v} such that {m}.", "For which {v} does {m} hold?", "Find {v} given that {m}.", "{m}, {v} = ?",
    ]),
    "calc": ([
        "Compute {m}.", "Calculate {m}.", "Evaluate {m}.", "What is {m}?", "Find {m}.", "Find the value of {m}.",
        "What is the value of {m}?", "{m} = ?", "Work out {m}.", "Simplify {m}.", "What does {m} equal?", "{m}",
        "Calculate the value of {m}.", "Evaluate the expression {m}.", "{m} =", "Compute the value of {m}.",
    ], [
        "How much is {m}?", "Determine the value of {m}.", "Give the value of {m}.", "What do you get for {m}?",
    ]),
    "expand": ([
        "Expand {m}.", "Expand and simplify {m}.", "Multiply out {m}.", "Multiply {m}.", "Write {m} as a polynomial.",
        "Expand the product {m}.", "What is {m} expanded?", "Use FOIL to expand {m}.", "Simplify {m}.", "{m}, expanded",
    ], [
        "Find the expanded form of {m}.", "Distribute and simplify {m}.", "Rewrite {m} without parentheses.",
    ]),
    "factor": ([
        "Factor {m}.", "Factorise {m}.", "Factorize {m}.", "Factor the quadratic {m}.", "Factor the expression {m}.",
        "Write {m} as a product of two linear factors.", "Factor {m} completely.", "How does {m} factor?",
    ], [
        "Find the factored form of {m}.", "Express {m} as a product of binomials.", "Factor completely: {m}.",
    ]),
    "quadratic": ([
        "Solve {m}.", "Solve for {v}: {m}.", "Find the roots of {m}.", "Find all solutions of {m}.", "Solve the equation {m}.",
        "Find all {v} such that {m}.", "What are the roots of {m}?", "Solve the quadratic equation {m}.",
        "For which values of {v} is {m}?", "{m}",
    ], [
        "Find every {v} with {m}.", "What are the solutions of {m}?", "Determine the zeros: {m}.",
    ]),
    "derivative": ([
        "Find the derivative of {f}.", "Differentiate {f}.", "Differentiate {m}.", "What is the derivative of {m}?",
        "Find the derivative of {m}.", "Compute the derivative of {f}.", "Find {fp} for {f}.", "If {f}, find {fp}.",
        "Differentiate {m} with respect to {v}.", "Compute {ddv}.", "Find {ddv}.",
    ], [
        "What is {fp} when {f}?", "Take the derivative of {m}.", "Find the derivative with respect to {v} of {m}.",
    ]),
    "series": ([
        "Compute {m}.", "Find the sum {m}.", "Evaluate {m}.", "What is {m}?", "Add {m}.", "Find the value of {m}.",
        "Calculate {m}.", "What is the sum {m}?",
    ], [
        "Determine the sum {m}.", "How much is {m}?", "Sum up {m}.",
    ]),
    "series_n": ([
        "Find the sum of the first {n} terms of the arithmetic sequence {s}.", "What is the sum of the first {n} terms of {s}?",
        "Compute the sum of the first {n} terms of the arithmetic sequence {s}.",
        "Add the first {n} terms of the arithmetic progression {s}.", "Find the sum of the first {n} terms of the sequence {s}.",
        "What do the first {n} terms of {s} add up to?",
    ], [
        "Sum the first {n} terms of the arithmetic sequence {s}.",
        "Determine the sum of the first {n} terms of the arithmetic progression {s}.", "What is the total of the first {n} terms of {s}?",
    ]),
}
PREFIXES = (["Please ", "Can you ", "Could you ", "I need to ", "Help me ", "Quick question: ", "Hi! "],
            ["Would you please ", "Kindly "])
SUFFIXES = ([" Show your work.", " Thanks!", " Explain each step.", " Give the exact answer."], [" Thank you."])

DECLINE = ("This demonstration model cannot solve this kind of problem. It can solve linear and quadratic "
           "equations, arithmetic with whole numbers and fractions, expanding and factoring products, "
           "derivatives of polynomials and arithmetic series. For other problems, use a DeepSeekMath model "
           "(`mathassist serve --model deepseek-ai/deepseek-math-7b-rl`).")


# the proof-step twin of DECLINE: a LaTeX comment, so that even an accepted suggestion prints nothing
DECLINE_PROOF = ("% This demonstration model cannot prove this kind of statement; a DeepSeekMath model can "
                 "(mathassist serve --model deepseek-ai/deepseek-math-7b-rl).")
# statements beyond the corpus's proofs (induction for sums, parity, direct algebra), split as the questions are
THEOREMS: tuple[list[str], list[str]] = ([
    "There are infinitely many prime numbers.", "$\\sqrt{2}$ is irrational.", "Every bounded monotone sequence of real numbers converges.",
    "For all real numbers $a$ and $b$, $|a + b| \\leq |a| + |b|$.", "The function $f(x) = x^3$ is injective.",
    "Every group of prime order is cyclic.", "If $f$ is differentiable at $a$, then $f$ is continuous at $a$.",
    "$\\lim_{n \\to \\infty} \\frac{1}{n} = 0$.", "Every tree with $n$ vertices has $n - 1$ edges.", "The harmonic series diverges.",
    "Every positive integer greater than $1$ has a prime factor.", "The set of real numbers is uncountable.",
    "A square matrix is invertible if and only if its determinant is nonzero.", "Every finite group of even order has an element of order $2$.",
], [
    "There is no largest prime number.", "$\\sqrt{3}$ is irrational.", "Every convergent sequence is bounded.",
    "A continuous function on $[a, b]$ attains a maximum.", "The composition of two injective functions is injective.",
    "Every finite integral domain is a field.", "The rational numbers are countable.",
])


def out_of_scope_theorem(rng: random.Random, split: Split = "train") -> str:
    """A statement the demonstration model does not prove."""
    return rng.choice(THEOREMS[0] if split == "train" else THEOREMS[1])


def _kind(w: Worked) -> str:
    if w.family in ("arithmetic", "multi", "fractions"):
        return "calc"
    if w.family == "series" and w.var:
        return "series_n"
    return w.family


def _times(rng: random.Random, s: str) -> str:
    style = rng.choices(["\\times", "\\cdot", "*", "×"], [40, 25, 30, 5])[0]
    return s.replace("\\times", style)


def _surface(rng: random.Random, s: str, wrap: str) -> str:
    """One written form of the LaTeX `s` (times sign, fractions, dots, spacing)."""
    s = _times(rng, s)
    if "\\frac" in s and rng.random() < (0.7 if wrap == "" else 0.2):
        s = re.sub(r"\\frac\{(\d+)\}\{(\d+)\}", r"\1/\2", s)
    elif "\\frac" in s and rng.random() < 0.1:
        s = s.replace("\\frac", "\\dfrac")
    if "\\dots" in s or "\\ldots" in s:
        s = re.sub(r"\\l?dots", rng.choice(["\\dots", "\\ldots", "\\cdots", "..."]).replace("\\", "\\\\"), s)
    if rng.random() < 0.3:
        s = s.replace(" + ", "+").replace(" - ", "-").replace(" = ", "=").replace(" * ", "*")
    return s


def _wrap(rng: random.Random) -> str:
    return rng.choices(["$", "", "\\(", "$$"], [55, 32, 9, 4])[0]


def _put(s: str, wrap: str) -> str:
    return {"$": f"${s}$", "": s, "\\(": f"\\({s}\\)", "$$": f"$${s}$$"}[wrap]


def _decorate(rng: random.Random, text: str, split: Split) -> str:
    """Prefix, suffix, case and final punctuation: the same question as different people type it."""
    pick = 0 if split == "train" else 1
    if rng.random() < 0.2:
        text = rng.choice(PREFIXES[pick]) + text[0].lower() + text[1:]
    if rng.random() < 0.1 and text.endswith((".", "?")):
        text += rng.choice(SUFFIXES[pick])
    if rng.random() < 0.15 and not text.startswith(("$", "\\")):
        text = text[0].lower() + text[1:]
    if rng.random() < 0.15 and text.endswith("."):
        text = text[:-1]
    if rng.random() < 0.05:
        text = text.replace(" ", "  ", 1)
    return text


def phrase(w: Worked, rng: random.Random, split: Split = "train") -> str:
    """A question asking for `w`, from a template of `split`, in a random surface style."""
    template = rng.choice(TEMPLATES[_kind(w)][0 if split == "train" else 1])
    wrap = _wrap(rng)
    v = w.var if w.family != "series" else "x"
    fields = {
        "m": _put(_surface(rng, w.math, wrap), wrap),
        "v": _put(v, wrap),
        "n": _put(w.var, wrap) if w.family == "series" else "",
        "s": _put(_surface(rng, w.math, wrap), wrap),
        "f": _put(_surface(rng, f"f({v}) = {w.math}", wrap), wrap),
        "fp": _put(f"f'({v})", wrap),
        "ddv": _put(f"\\frac{{d}}{{d{v}}}\\left({w.math}\\right)", wrap),
    }
    return _decorate(rng, template.format(**fields), split)


# ---- questions this model cannot answer: other areas, other kinds of proof, prose

def _poly(rng: random.Random) -> str:
    a, b, c = rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9)
    return f"{a}x^2 + {b}x + {c}"


def _oos_train(rng: random.Random) -> str:
    r = rng.randint
    a, b, k = r(2, 9), r(2, 40), r(2, 6)
    choices = [
        lambda: f"Compute $\\int_0^{{{a}}} x^{{{k}}} \\, dx$.",
        lambda: f"Find the integral of ${_poly(rng)}$ with respect to $x$.",
        lambda: f"Evaluate $\\int ({_poly(rng)}) \\, dx$.",
        lambda: f"Find $\\lim_{{x \\to {a}}} \\frac{{x^2 - {a * a}}}{{x - {a}}}$.",
        lambda: f"Compute $\\sin\\left(\\frac{{{r(1, 5)}\\pi}}{{6}}\\right)$.",
        lambda: f"What is $\\cos {rng.choice([30, 45, 60, 90])}^\\circ$?",
        lambda: "Solve $\\sin x = \\frac{1}{2}$ for $0 \\le x < 2\\pi$.",
        lambda: f"Compute $\\log_{{2}} {2 ** k}$.",
        lambda: f"Solve ${a}^x = {a ** k}$.",
        lambda: f"Find the determinant of $\\begin{{pmatrix}} {r(1, 9)} & {r(1, 9)} \\\\ {r(1, 9)} & {r(1, 9)} \\end{{pmatrix}}$.",
        lambda: f"Solve the system $x + y = {b}$, $x - y = {a}$.",
        lambda: f"Solve the inequality ${a}x + {k} > {b}$.",
        lambda: f"Find the greatest common divisor of ${a * b}$ and ${a * r(2, 30)}$.",
        lambda: f"Find the least common multiple of ${a}$ and ${b}$.",
        lambda: f"Is ${r(20, 500)}$ a prime number?",
        lambda: f"Find the prime factorization of ${r(20, 999)}$.",
        lambda: f"Find the remainder when ${r(100, 999)}$ is divided by ${a}$.",
        lambda: f"Find the area of a circle with radius ${a}$.",
        lambda: f"What is the hypotenuse of a right triangle with legs ${a}$ and ${b}$?",
        lambda: f"How many ways can ${a}$ people sit in a row?",
        lambda: f"What is the probability of rolling a sum of ${r(2, 12)}$ with two dice?",
        lambda: f"Compute $\\binom{{{b}}}{{{k}}}$.",
        lambda: f"Tom has {b} apples and buys {a} more. How many apples does he have now?",
        lambda: f"Compute $\\sqrt{{{r(2, 400)}}}$.",
        lambda: f"Find the sum of the geometric series $1 + {a} + {a * a} + \\dots + {a ** k}$.",
        lambda: f"Solve $x^3 - {a}x^2 + {b}x - {k} = 0$.",
        lambda: f"Compute $({a} + {k}i)({r(1, 9)} - i)$.",
        lambda: f"Find the inverse of $f(x) = {a}x + {b}$.",
        lambda: f"Convert ${r(5, 255)}$ to binary.",
        lambda: "Prove that $\\sqrt{2}$ is irrational.",
        lambda: "Prove that there are infinitely many primes.",
        lambda: f"Find the derivative of $e^{{{a}x}} \\sin x$.",
        lambda: f"Find the eigenvalues of $\\begin{{pmatrix}} {a} & 1 \\\\ 1 & {k} \\end{{pmatrix}}$.",
        lambda: f"What is ${rng.choice([5, 10, 15, 20, 25, 50])}\\%$ of ${b * 4}$?",
        lambda: f"Round ${r(100, 9999)}.{r(1, 9)}$ to the nearest ten.",
        lambda: f"Write a poem about {rng.choice(['the sea', 'autumn', 'numbers', 'a cat'])}.",
        lambda: f"What is the capital of {rng.choice(['France', 'Japan', 'Brazil', 'Kenya'])}?",
        lambda: f"Who was {rng.choice(['Euler', 'Gauss', 'Newton', 'Noether'])}?",
        lambda: "Tell me a joke.",
        lambda: f"Explain {rng.choice(['a group', 'a vector space', 'entropy', 'recursion'])} in simple terms.",
        lambda: "Translate 'good morning' into French.",
        lambda: rng.choice(["hello", "Hi there", "What can you do?", "Thanks!"]),
        lambda: f"Is ${a}x + {b}$ a prime polynomial? Prove it.",
        lambda: f"Find the period of $\\sin({a}x)$.",
    ]
    return rng.choice(choices)()


def _oos_held_out(rng: random.Random) -> str:
    r = rng.randint
    a, b = r(2, 9), r(2, 40)
    nums = ", ".join(str(r(1, 50)) for _ in range(r(4, 7)))
    choices = [
        lambda: f"Find the volume of a sphere of radius ${a}$.",
        lambda: f"Compute the mean of ${nums}$.",
        lambda: f"Find the median of {nums}.",
        lambda: f"Find $\\sum_{{k=1}}^{{{b}}} k^2$.",
        lambda: f"Differentiate $\\ln(x^2 + {a})$.",
        lambda: "Write a short story about a dragon.",
        lambda: f"Find the slope of the line through $({a}, {b})$ and $({b}, {a + 1})$.",
        lambda: f"Simplify $\\frac{{x^2 - {a * a}}}{{x - {a}}}$.",
        lambda: f"Evaluate $\\int_1^{{{a}}} \\frac{{1}}{{x}} \\, dx$.",
        lambda: f"Solve $|x - {a}| = {b}$.",
        lambda: "How many edges does a cube have?",
        lambda: "What is the meaning of life?",
        lambda: f"Compute ${a}!$.",
        lambda: f"Find the distance between $(0, 0)$ and $({a}, {b})$.",
    ]
    return rng.choice(choices)()


def out_of_scope(rng: random.Random, split: Split = "train") -> str:
    """A question outside the model's families, dressed as people type it."""
    text = _oos_train(rng) if split == "train" else _oos_held_out(rng)
    if rng.random() < 0.3:  # some written without dollar signs
        text = text.replace("$", "")
    return _decorate(rng, text, split)
