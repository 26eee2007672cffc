"""Golden tests: one table per post-processing filter, and the whole chain."""

from __future__ import annotations

import pytest

from mathcore.context import extract_context
from mathcore.postprocess import (
    balance_braces,
    balance_left_right,
    cut_at_step_end,
    drop_empty,
    drop_repeated,
    postprocess,
    trim_suffix_overlap,
)


def ctx_for(doc: str, language: str = "latex"):  # type: ignore[no-untyped-def]
    """The context at the `|` in doc."""
    before, after = doc.split("|")
    line = before.count("\n")
    return extract_context(before + after, line, len(before.split("\n")[-1]), language)


ALIGN = "\\begin{align*}\n(x+1)^2 &= x^2 + 2x + 1 \\\\\n&= |\n\\end{align*}"


@pytest.mark.parametrize(("raw", "want"), [
    ("x^2 + 2x + 1 \\\\\n&= more", "x^2 + 2x + 1 "),
    ("a + b\n\\end{align*}", "a + b"),
    ("a \\end{align*}", "a "),
    ("no end", "no end"),
])
def test_cut_at_step_end(raw: str, want: str) -> None:
    assert cut_at_step_end(raw, ctx_for(ALIGN)) == want


@pytest.mark.parametrize(("doc", "language"), [
    ("We expand.\n\n$$\n(x+1)^2 = x^2 + 2x + 1 \\\\\n= |\n$$", "markdown"),
    ("\\[\n(x+1)^2 = |\n\\]", "latex"),
    (ALIGN, "latex"),
])
def test_a_stray_dollar_never_ends_a_step_in_display_math(doc: str, language: str) -> None:
    assert postprocess("x^2 + 2x + 1$.", ctx_for(doc, language)) == "x^2 + 2x + 1"


def test_crlf_documents_give_the_same_context_as_lf() -> None:
    lf = "We expand.\n\\begin{align*}\n(x+1)^2 &= x^2 + 2x + 1 \\\\\n&= "
    a, b = extract_context(lf, 3, 3, "latex"), extract_context(lf.replace("\n", "\r\n"), 3, 3, "latex")
    assert a == b and a.environment == "align*" and b.previous_line.endswith("\\\\")


def test_cut_at_the_closing_dollar_of_inline_math() -> None:
    assert cut_at_step_end("2x$ and more", ctx_for("so $f'(x) = |", "markdown")) == "2x"


@pytest.mark.parametrize(("doc", "raw", "want"), [
    ("$x = |$", "3$", "3"),
    ("a &= |\\\\", "b + c \\\\", "b + c "),
    ("\\frac{1}{|}", "2}", "2"),
    ("x = |", "3", "3"),
])
def test_trim_suffix_overlap(doc: str, raw: str, want: str) -> None:
    assert trim_suffix_overlap(raw, ctx_for(doc)) == want


@pytest.mark.parametrize(("doc", "raw", "want"), [
    ("$x = |", "\\frac{1}{2", "\\frac{1}{2}"),
    ("$x = |", "a} + b", "a"),
    ("$\\frac{1}{|", "2} + 1", "2} + 1"),
    ("$x = |", "\\{1, 2\\}", "\\{1, 2\\}"),
])
def test_balance_braces(doc: str, raw: str, want: str) -> None:
    assert balance_braces(raw, ctx_for(doc)) == want


@pytest.mark.parametrize(("doc", "raw", "want"), [
    ("$x = |", "\\left( a + b", "\\left( a + b \\right)"),
    ("$x = |", "a \\right) + b", "a"),
    ("$\\left( x |", "+ 1 \\right)", "+ 1 \\right)"),
    ("$x = |", "\\left[ a \\right]", "\\left[ a \\right]"),
])
def test_balance_left_right(doc: str, raw: str, want: str) -> None:
    assert balance_left_right(raw, ctx_for(doc)) == want


@pytest.mark.parametrize(("raw", "kept"), [("", False), ("   ", False), (" .,", False), ("x", True), ("\\pi", True)])
def test_drop_empty(raw: str, kept: bool) -> None:
    assert (drop_empty(raw, ctx_for(ALIGN)) is not None) == kept


def test_drop_repeated_previous_line_and_existing_suffix() -> None:
    doc = "\\begin{align*}\na &= b + c \\\\\n|"
    assert drop_repeated("a &= b + c \\\\", ctx_for(doc)) is None
    assert drop_repeated("a &= d", ctx_for(doc)) == "a &= d"
    assert drop_repeated("+ c", ctx_for("$a = b |+ c$")) is None


def test_whole_chain_on_an_align_step() -> None:
    assert postprocess(" x^2 + 2x + 1 \\\\\n&= (x+1)^2", ctx_for(ALIGN)) == "x^2 + 2x + 1"
    assert postprocess("\n", ctx_for(ALIGN)) is None
