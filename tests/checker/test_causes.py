"""Each cause of false alarms seen on real documents, as a minimal case taken from one (the file and
line in `tests/checker/real/`, or the issue's corpus where ours has none): the step is decided as its
author meant it, or `unknown`, never `wrong`. Decided in this process (`checker._decide.decide`, no
workers), so these run in the unit tier."""

from __future__ import annotations

import pytest

from checker._decide import decide
from checker._types import Verdict
from mathcore.steps import extract_claims


def verdicts(doc: str, language: str = "latex") -> list[str | None]:
    """The verdict of each claim of `doc` in order (None: no claim after all)."""
    out = []
    for claim in extract_claims(doc, language):
        d = decide(claim)
        out.append(d.verdict.value if d is not None else None)
    return out


@pytest.mark.parametrize(("source", "doc", "expected"), [
    # integration constants and logarithms
    ("dmccreary__calculus/docs/chapters/20-basic-antiderivatives/index.md:462", "$$\\int \\cos x \\, dx = \\sin x + C$$", ["verified"]),
    ("dmccreary__calculus/docs/chapters/23-integral-properties-and-techniques/index.md:992", "$$\\int \\frac{du}{u} = \\ln|u| + C$$",
     ["verified"]),
    ("jirilebl__diffyqs/ch-higher-order-ode.tex:2498",
     "\\begin{equation*} \\int ( \\cos x-\\sec x ) \\,dx = \\sin x - \\ln \\left\\lvert \\sec x + \\tan x \\right\\rvert \\end{equation*}",
     ["verified"]),
    ("issue 23", "\\[ \\int \\frac{dx}{x^2+1} = \\arctan x + C \\]", ["verified"]),
    ("made wrong from the line above", "\\[ \\int \\frac{dx}{x^2+1} = \\arcsin x + C \\]", ["wrong"]),
])
def test_antiderivatives_are_equal_up_to_a_constant(source: str, doc: str, expected: list[str]) -> None:
    assert verdicts(doc, "markdown" if source.endswith(".md:462") or ".md:" in source else "latex") == expected, source


@pytest.mark.parametrize(("source", "doc"), [
    # domains: real numbers, natural bounds, stated conditions
    ("mooculus__calculus/logarithmicDifferentiation/digInLogarithmicDifferentiation.tex:149",
     "\\begin{align*}\n\\ln(f(x)) &= \\ln\\left(x^x\\right)\\\\\n&=x\\ln(x).\n\\end{align*}"),
    ("jirilebl__ra/ch-seq-ser.tex:1452", "\\begin{equation*}\n\\frac{1}{c^n} =\n{\\left(\\frac{1}{c}\\right)}^n\n\\end{equation*}"),
    ("Tanwaiwax__APEXCalculusLT_Source/text/Inside_Cover_Of_The_Text_Material_Complete.tex:603",
     "\\begin{align*}\n\\sum^n_{i=1}{i} &= \\frac{n(n+1)}{2} & \\sum^n_{i=1}{i^3} &= \\left(\\frac{n(n+1)}{2}\\right)^2\n\\end{align*}"),
    ("Tanwaiwax__APEXCalculusLT_Source/text/06_Trigonometric_Integrals.tex:24",
     "\\[ \\sin^{2k+1}x = \\sin^{2k}x\\sin x = (\\sin^2x)^k\\sin x \\]"),
    ("jirilebl__ra/ch-riemann.tex:3238",
     "\\begin{equation*}\n\\frac{2}{\\pi (2n+1)} = \\int_{\\pi 2n}^{\\pi (2n+1)} \\frac{\\sin(x)}{\\pi (2n+1)} \\, dx\n\\end{equation*}"),
    ("dmccreary__calculus/docs/chapters/11-implicit-differentiation/index.md:669 (a condition two paragraphs up)",
     "Let $y = \\arcsin(x)$, so $\\sin(y) = x$ where $-\\frac{\\pi}{2} \\leq y \\leq \\frac{\\pi}{2}$.\n\n"
     "$$\\cos(y) = \\sqrt{1 - \\sin^2(y)} = \\sqrt{1 - x^2}$$"),
    ("jirilebl__ra/ch-seq-ser.tex:161 (for all $n \\geq M$: a condition on a variable the step lacks)",
     "For all $n \\geq M$,\n\\begin{equation*}\n\\abs{\\frac{1}{n}} = \\frac{1}{n} \\leq \\frac{1}{M}\n\\end{equation*}"),
    ("jirilebl__ra/ch-riemann.tex:2919 (an inequality under conditions stated in prose)",
     "\\begin{equation*}\n\\frac{x+2}{x^3+1} \\leq \\frac{x+2}{x^3} \\leq \\frac{x+2x}{x^3}\n\\end{equation*}"),
    ("a mathassist: assume comment", "% mathassist: assume x > 0\n\\begin{align*}\n\\sqrt{x^2} &= (x^2)^{1/2} \\\\\n&= x\n\\end{align*}"),
    # objects that are not scalars, and symbols that are not constants
    ("jirilebl__diffyqs/ch-laplace.tex:946", "\\[ {\\mathcal{L}}^{-1} \\left\\{ \\frac{1}{s^2+1} \\right\\} = \\sin t \\]"),
    ("zhihuammu__ODE-book/chaps/00/chap00_B_formula.md:28",
     "$$\\dfrac{n!}{k!(n-k)!} = \\dfrac{n(n-1)(n-2)\\cdots(n-k+1)}{k!}$$"),
    ("jirilebl__diffyqs/ch-higher-order-ode.tex:2972",
     "\\begin{equation*}\n\\tan \\gamma = \\frac{B}{A} = \\frac{2\\omega p}{\\omega_0^2-\\omega^2}\n\\end{equation*}"),
    ("jirilebl__diffyqs/ch-higher-order-ode.tex:2498 (primes)", "\\begin{equation*}\n u_1 = \\int u_1'\\,dx = \\int ( \\cos x-\\sec x ) \\,dx\n"
     "\\end{equation*}"),
    ("issue 23 (matrices)", "\\[ (R^T R)^{-1} = R^{-1} (R^T)^{-1} = R^{-1} R^{-1} \\]"),
    # chains that solve, and symbols defined elsewhere
    ("Tanwaiwax__APEXCalculusLT_Source/text/06_Partial_Fractions.tex:124",
     "\\begin{align}\n1\n&= \\frac{A(x-1)(x+1)}{x-1}+\\frac{B(x-1)(x+1)}{x+1} \\notag\\\\\n&= A(x+1)+B(x-1)\n\\end{align}"),
    ("Tanwaiwax__APEXCalculusLT_Source/text/08_Taylor_Series.tex:287", "\\[a_2=2=\\frac{b_2}{2!},\\quad a_4 = \\frac23=\\frac{b_4}{4!}\\]"),
    ("jirilebl__diffyqs/ch-power-ser.tex:527",
     "\\begin{align*}\nx {\\left( \\sum_{k=0}^\\infty {(-1)}^k x^k \\right)}^2 &= \\frac{x}{(1+x)^2} \\\\\n"
     "&= x \\left( \\sum_{k=0}^\\infty c_k x^k \\right)\n\\end{align*}"),
    # layout: columns of an align, a row continued by a leading operator
    ("Tanwaiwax__APEXCalculusLT_Source/text/Inside_Cover_Of_The_Text_Material_Complete.tex:192",
     "\\begin{align*}\n\\sin\\theta &= y & \\cos\\theta &= x \\\\\n\\csc\\theta &= \\dfrac1y & \\sec\\theta &= \\dfrac1x\n\\end{align*}"),
    ("Tanwaiwax__APEXCalculusLT_Source/text/Inside_Cover_Of_The_Text_Material_Complete.tex:249",
     "\\begin{align*}\n\\sin(\\tfrac{\\pi}{2}-x) &= \\cos x &\n\\csc(\\tfrac{\\pi}{2}-x) &= \\sec x \\\\\n\\tan(\\tfrac{\\pi}{2}-x) &= \\cot x &\n"
     "\\cot(\\tfrac{\\pi}{2}-x) &= \\tan x\n\\end{align*}"),
    ("a row continued by a leading operator", "\\begin{align*}\n(x+1)^3 &= x^3 + 3x^2 \\\\\n&\\quad + 3x + 1\n\\end{align*}"),
    # reading numbers
    ("dmccreary__calculus/docs/chapters/13-higher-order-derivatives-and-motion/index.md:634",
     "$$s(1) = 2(1) - 15(1) + 24(1) + 5 = 2 - 15 + 24 + 5 = 16$$"),
    ("Tanwaiwax__APEXCalculusLT_Source/text/05_FTC.tex:135", "\\[ \\bigl(2(4)^2-\\frac134^3\\bigr)-\\bigl(0-0\\bigr) = 32-\\frac{64}3 \\]"),
    ("jirilebl__ra/ch-real-nums.tex:1301", "\\[ 5^2+9(5)+1 = 71 \\]"),
    ("issue 23 (thin spaces, adjacent binomials, decimals, units)",
     "\\[ \\binom{52}{5} = 2\\,598\\,960 \\]\n\\[ \\binom{4}{2}\\binom{4}{3} = 24 \\]\n\\[ 0.1 + 0.2 = 0.3 \\]\n\\[ 3 \\cdot 1500 mg = 4500 mg \\]"),
])
def test_right_steps_of_real_documents_are_never_wrong(source: str, doc: str) -> None:
    language = "markdown" if ".md:" in source or "$$" in doc else "latex"
    got = verdicts(doc, language)
    assert got and "wrong" not in got, (source, got)


def test_what_is_right_is_verified_not_only_left_alone() -> None:
    assert verdicts("\\begin{align*}\n\\sin(\\tfrac{\\pi}{2}-x) &= \\cos x & \\csc(-x) &= -\\csc x \\\\\n"
                    "\\tan(\\tfrac{\\pi}{2}-x) &= \\cot x & \\cot(-x) &= -\\cot x\n\\end{align*}") == ["verified"] * 4
    assert verdicts("\\begin{align*}\n(x+1)^3 &= x^3 + 3x^2 \\\\\n&\\quad + 3x + 1\n\\end{align*}") == ["verified"]
    assert verdicts("$$s(1) = 2(1) - 15(1) + 24(1) + 5 = 2 - 15 + 24 + 5 = 16$$", "markdown")[1:] == ["verified", "verified"]
    assert verdicts("\\[ \\binom{52}{5} = 2\\,598\\,960 \\]\n\\[ \\binom{4}{2}\\binom{4}{3} = 24 \\]\n\\[ 0.1 + 0.2 = 0.3 \\]") == [
        "verified", "verified", "verified"]


def test_the_lone_row_rule_and_rounded_values() -> None:
    # a lone A = B whose sides differ by a nonzero constant is wrong (issue 23's cases)
    assert verdicts("$$ 2(y + 4) = 2y + 4 $$", "markdown") == ["wrong"]
    assert verdicts("\\begin{align*}\n(x+3)(x+5) &= x^2 + 8x + 16\n\\end{align*}") == ["wrong"]
    assert verdicts("\\begin{align*}\n(x-1)(x+1) &= x^2 + 1\n\\end{align*}") == ["wrong"]
    assert verdicts("\\[ f(x) = x^2 + 1 \\]\n\\[ x^2 - 5x + 6 = 0 \\]") == [None, None]  # a definition, an equation
    # a value rounded to the digits written is approximate, a value rounded wrongly is wrong
    assert verdicts("\\[ \\frac{20}{3} = 6.67 \\]\n\\[ \\frac{1}{11} = 0.09 \\]\n\\[ \\frac{20}{3} = 6.66 \\]") == [
        "approximate", "approximate", "wrong"]


def test_ambiguous_notation_is_unknown_unless_wrong_under_every_reading() -> None:
    # jirilebl__diffyqs/ch-higher-order-ode.tex:612: i is the imaginary unit there
    doc = "\\begin{{equation*}}\n(2+3i)(4i) - 5i = (2\\times 4)i + (3 \\times 4) i^2 - 5i = {}\n\\end{{equation*}}"
    [_, d] = [decide(c) for c in extract_claims(doc.format("8i + 12 (-1) - 5i"), "latex")]
    assert d is not None and d.verdict in (Verdict.VERIFIED, Verdict.UNKNOWN)
    [_, wrong] = [decide(c) for c in extract_claims(doc.format("8i + 12 - 5i"), "latex")]
    assert wrong is not None and wrong.verdict == Verdict.WRONG  # wrong whether i is a name or the imaginary unit
