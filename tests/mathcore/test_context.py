"""Context extraction for LaTeX, Markdown and plain text."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from mathcore.context import extract_context

DOC = r"""\documentclass{article}
\newcommand{\R}{\mathbb{R}}
\DeclareMathOperator{\tr}{tr}
\begin{document}
\begin{theorem}
For every $n$, $n^2 + n$ is even.
\end{theorem}
\begin{proof}
We factor.
\begin{align*}
n^2 + n &= n(n+1) \\
&= n(n + 1)
\end{align*}
\end{proof}
\end{document}
"""


def test_align_inside_proof() -> None:
    ctx = extract_context(DOC, 11, 3, "latex")
    assert ctx.environment == "align*" and ctx.in_math and ctx.in_proof
    assert ctx.line_prefix == "&= " and ctx.previous_line.startswith("n^2 + n")
    assert ctx.prefix.endswith("&= ") and "\\begin{align*}" in ctx.prefix


def test_proof_text_is_not_math() -> None:
    ctx = extract_context(DOC, 8, 10, "latex")
    assert ctx.environment == "proof" and ctx.in_proof and not ctx.in_math


def test_definitions_outside_the_window_are_kept() -> None:
    ctx = extract_context(DOC, 11, 3, "latex", max_prefix_chars=60)
    assert "\\newcommand" not in ctx.prefix
    assert ctx.definitions == ("\\newcommand{\\R}{\\mathbb{R}}", "\\DeclareMathOperator{\\tr}{tr}")


def test_typing_at_the_end_of_a_long_document_keeps_the_window_start_still() -> None:
    """Prompts that start alike let the model process reuse its cache of the document: typing 1,000
    characters moves the 3,000-character window's start twice, not at every line it passes."""
    doc = "".join(f"Line {i}: $a_{{{i}}} = {i * i}$.\n" for i in range(400))
    starts = set()
    text = doc
    for ch in ("We now sum the terms $a_k = k^2$ one by one. " * 25)[:1000]:
        text += ch
        lines = text.split("\n")
        ctx = extract_context(text, len(lines) - 1, len(lines[-1]), "latex")
        assert 2400 <= len(ctx.prefix) <= 3000 and text.endswith(ctx.prefix)
        starts.add(len(text) - len(ctx.prefix))
    assert len(starts) <= 3


def test_inline_and_display_math() -> None:
    assert extract_context("Let $x = ", 0, 9, "latex").environment == "$"
    assert extract_context("\\[ a = ", 0, 7, "latex").environment == "\\["
    assert extract_context("text $a$ more", 0, 13, "latex").in_math is False
    assert extract_context("% $ in a comment\n\\begin{equation}\na", 2, 1, "latex").environment == "equation"


def test_markdown_blocks() -> None:
    md = "We expand.\n\n$$\n(x+1)^2 = "
    assert extract_context(md, 3, 10, "markdown").environment == "$$"
    assert extract_context("Inline $a + ", 0, 12, "markdown").environment == "$"
    assert extract_context("```\n$$\n", 2, 0, "markdown").in_math is False


def test_unbalanced_environments_do_not_break_it() -> None:
    ctx = extract_context("\\end{align*}\n\\begin{proof}\n\\end{theorem}\nx", 3, 1, "latex")
    assert ctx.in_proof


@given(st.text(max_size=300), st.integers(-5, 50), st.integers(-5, 200), st.sampled_from(["latex", "markdown", "plaintext"]))
@example("0\r\n", 0, 1, "latex")  # Windows line ends: the context reads them as newlines, as editors mean them
def test_any_input_and_position_gives_a_context(text: str, line: int, character: int, language: str) -> None:
    ctx = extract_context(text, line, character, language)
    read = text.replace("\r\n", "\n")
    assert read.startswith(ctx.prefix) or ctx.prefix in read
    assert ctx.line_prefix + ctx.line_suffix in read.split("\n")
