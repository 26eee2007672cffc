"""Answer equivalence (`checker._answers.equal`): exact, strict about brackets, never slow."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checker._answers import equal
from mathcore.answers import extract_answer


@pytest.mark.parametrize(("a", "b"), [
    ("\\frac{1}{2}", "0.5"), ("\\dfrac{3}{10}", "\\frac{3}{10}"), ("x = 3", "3"), ("-2, 9", "9, -2"),
    ("(x - 1)(x + 6)", "x^2 + 5x - 6"), ("2\\pi", "2 \\pi"), ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2"), ("[2, 5)", "[2,5)"),
    ("\\sqrt{8}", "2\\sqrt{2}"), ("\\frac12", "\\frac{1}{2}"), ("50\\%", "50"), ("50\\%", "\\frac{1}{2}"),
    ("30^\\circ", "30"), ("30^{\\circ}", "30"), ("\\{1, 2\\}", "\\{2, 1\\}"), ("\\{1, 2\\}", "2, 1"),
    ("1,000", "1000"), ("1{,}000", "1000"), ("0{,}5", "\\frac{1}{2}"), ("1{,}000{,}000", "10^6"), ("x = 2 \\text{ or } x = 3", "3, 2"),
    ("1 \\pm \\sqrt{2}", "1 + \\sqrt{2}, 1 - \\sqrt{2}"), ("(-\\infty, 3]", "(-\\infty,3]"),
    ("10^{10^{10}}", "10^{10^{10}}"), ("\\boxed{7}", "7"), ("\\frac{1}{2004!}", "\\frac{1}{2004!}"),
])
def test_equal(a: str, b: str) -> None:
    assert equal(a, b) and equal(b, a)


@pytest.mark.parametrize(("a", "b"), [
    ("1/2004!", "1/2006!"),  # accepted by DeepSeekMath's checker and Math-Verify
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("[2,5)", "(2,5)"),  # likewise
    ("3", "4"), ("1, 2", "1, 2, 3"), ("x^2 - 1", "x^2 + 1"), ("\\frac{1}{3}", "0.33"), ("0.3333333333", "\\frac{1}{3}"),
    ("\\{1, 2\\}", "\\{1, 2, 2\\}"), ("50\\%", "5"), ("(2, 5]", "[2, 5]"), ("\\sqrt{2}", "1.41421356"),
    ("10^{10^{10}}", "10^{10^{10}} + 1"), ("1000000!", "1"), ("2^{100000}", "2^{100000} - 1"),
])
def test_not_equal(a: str, b: str) -> None:
    assert not equal(a, b) and not equal(b, a)


def test_numbers_too_large_to_compute_are_never_computed() -> None:
    t = time.monotonic()
    assert not equal("10^{10^{10}}", "10^{10^{10}} + 1")
    assert not equal("1000000!", "1")
    assert not equal("(10^{100})!", "(10^{100})! + 1")
    assert time.monotonic() - t < 2  # each is decided from its size, not by arithmetic


@given(st.fractions(max_denominator=50), st.fractions(max_denominator=50))
def test_fractions_compare_exactly(p: Fraction, q: Fraction) -> None:
    as_latex = lambda f: f"\\frac{{{f.numerator}}}{{{f.denominator}}}" if f.denominator != 1 else str(f.numerator)  # noqa: E731
    assert equal(as_latex(p), as_latex(q)) == (p == q)


@given(st.integers(-999, 999))
def test_integer_answers_equal_themselves_in_a_box(n: int) -> None:
    assert extract_answer(f"So the answer is $\\boxed{{{n}}}$.") == str(n)
    assert equal(str(n), f"{n}.0")
