"""Which rows of which blocks claim what (pure; the checker decides them)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mathcore.steps import Claim, claims_at, extract_claims, new_variables


def test_chains_equation_steps_and_lone_rows() -> None:
    doc = ("Text.\n\\begin{align*}\n(x+1)^2 &= x^2 + 2x + 1 \\\\\n&= x^2 + 2x + 1 \\label{e}\\\\\n"
           "2x + 3 &= 7 \\\\\n2x &= 4.\n\\end{align*}\n")
    assert extract_claims(doc, "latex") == [
        Claim(3, 1, "(x+1)^2", "=", "x^2 + 2x + 1", "chain"),
        Claim(4, 1, "x^2 + 2x + 1", "=", "x^2 + 2x + 1", "chain"),
        Claim(5, 1, "2x + 3", "=", "7", "lone"),
        Claim(6, 1, "2x", "=", "4", "implies", ("2x + 3", "7")),
    ]


def test_relations_inside_braces_and_skipped_rows() -> None:
    claims = extract_claims("\\[ \\sum_{k=1}^{n} k \\le n^2 \\]\n\\[ \\pi \\approx 3.14 \\]\n\\[ f := x \\]\n", "latex")
    assert [(c.lhs, c.relation, c.rhs) for c in claims] == [("\\sum_{k=1}^{n} k", "<=", "n^2")]


def test_markdown_code_and_latex_comments_are_not_math() -> None:
    md = "```\n$$ 1 = 2 $$\n```\n\n$$\n1 + 1 = 2\n$$\n"
    assert [(c.line, c.lhs) for c in extract_claims(md, "markdown")] == [(6, "1 + 1")]
    assert extract_claims("% \\[ 1 = 2 \\]\n", "latex") == []


def test_plain_text_paragraphs_continue_with_a_leading_equals_sign() -> None:
    claims = extract_claims("We expand.\n(x + 1)(x + 7) = x^2 + 8x + 7\n= x^2 + 8x + 7\n", "plaintext")
    assert [(c.line, c.kind) for c in claims] == [(2, "chain"), (3, "chain")]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="\\{}[]()$&=<>^_ x12\nabegilnrt*%", max_size=120), st.sampled_from(["latex", "markdown", "plaintext"]))
def test_any_text_gives_claims_on_its_own_lines(text: str, language: str) -> None:
    lines = text.replace("\r\n", "\n").count("\n") + 1
    for claim in extract_claims(text, language):
        assert 1 <= claim.line <= lines and claim.column >= 1 and claim.lhs and claim.rhs


def test_inline_math_is_read_only_when_asked() -> None:
    text = "So $2 + 3 = 6$ and $a = b = c$, while $$ x = 1 $$ stays a block.\n"
    assert [c.text for c in extract_claims(text, "markdown")] == ["x = 1"]
    assert [(c.text, c.kind) for c in extract_claims(text, "markdown", inline=True)] == [
        ("2 + 3 = 6", "lone"), ("a = b", "chain"), ("b = c", "chain"), ("x = 1", "lone")]


def test_a_suggestion_in_an_unfinished_derivation_is_read_with_its_block_closed() -> None:
    doc = "Solve.\n\\begin{align*}\n2x + 3 &= 7 \\\\\n2x &= "
    got = claims_at(doc + "5", "latex", len(doc), len(doc) + 1)
    assert got == [Claim(4, 1, "2x", "=", "5", "implies", ("2x + 3", "7"))]
    chain = "$$\n(x+1)^2 = x^2 + 2x + 1 \\\\\n= "
    assert [c.text for c in claims_at(chain + "x^2 + 1", "markdown", len(chain), len(chain) + 7)] == ["x^2 + 2x + 1 = x^2 + 1"]
    assert claims_at("\\[ a = b \\]\nSo ", "latex", 15, 15) == []  # nothing on the cursor's line


def test_new_variables_are_letters_that_no_mathematics_above_uses() -> None:
    block = "We note $y > 0$ in the text.\n\\[\n(t + 2)(t - 7) = t^2 - 7t + 2t - 14 \\\\\n= "
    assert new_variables(block, "x^2 - 5x - 14") == {"x"}
    assert new_variables(block, "t^2 - 5t - 14 + y - y") == set()  # y is used in inline math above
    assert new_variables("Text about cats.\n\\begin{align*}\n16 \\cdot 9 &= ", "144 + a") == {"a"}  # prose is not mathematics
    assert new_variables("\\begin{align*}\n\\frac{d}{dx} x^3 &= ", "3x^2 \\cdot \\frac{1}{1}") == set()  # commands are not names


def test_a_suggestion_is_found_in_a_document_with_windows_line_ends() -> None:
    doc = "\\begin{align*}\r\n2x + 3 &= 7 \\\\\r\n2x &= "
    assert claims_at(doc + "5", "latex", len(doc), len(doc) + 1) == [Claim(3, 1, "2x", "=", "5", "implies", ("2x + 3", "7"))]
