"""Final-answer extraction and voting (what "equal" means is tested in tests/checker/test_answers.py)."""

from __future__ import annotations

import pytest

from checker._answers import equal
from mathcore.answers import extract_answer, extract_boxed
from mathcore.voting import majority_vote


@pytest.mark.parametrize(("text", "answer"), [
    ("so $x = \\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("\\boxed{1} then \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("nested \\boxed{\\sqrt{\\frac{a}{b}}} end", "\\sqrt{\\frac{a}{b}}"),
    ("unclosed \\boxed{3 + ", None),
    ("Final Answer: The final answer is $[2,5)$. I hope it is correct.", "[2,5)"),
    ("no answer here", None),
])
def test_extract(text: str, answer: str | None) -> None:
    assert extract_answer(text) == answer


def test_boxed_prefers_the_last_complete_box() -> None:
    assert extract_boxed("\\boxed{1} and finally \\boxed{2}") == "2"


def test_vote_groups_equal_answers_and_counts_shares() -> None:
    votes = majority_vote(["\\boxed{\\frac{1}{2}}", "\\boxed{0.5}", "\\boxed{3}", "no answer"], equal)
    assert [(v.answer, v.count, v.share) for v in votes] == [("\\frac{1}{2}", 2, 0.5), ("3", 1, 0.25)]
    assert votes[0].members == (0, 1)


def test_a_split_vote_says_how_many_agree_and_flags_low_agreement() -> None:
    from mathcore.sampling import SamplingParams
    from mathcore.solution import solve_result

    texts = ["So $\\boxed{5}$.", "So $\\boxed{5}$.", "So $\\boxed{7}$.", "So $\\boxed{9}$.", "So $\\boxed{11}$."]
    split = solve_result("p", texts, SamplingParams(samples=5), "embedded", equal=equal)
    md = split._repr_markdown_()
    assert split.answer == "5" and split.agreement() == (2, 5) and split.unsure()
    assert "**Answer:** $5$ (2 of 5 samples agree)" in md and "**Low agreement:** only 2 of 5" in md
    assert split.to_json()["unsure"] is True
    settled = solve_result("p", texts[:3], SamplingParams(samples=3), "embedded", equal=equal)
    assert not settled.unsure() and "Low agreement" not in settled._repr_markdown_()
    assert "agree" not in solve_result("p", texts[:1], SamplingParams(), "embedded", equal=equal)._repr_markdown_()


def test_each_step_of_a_solution_is_its_own_line_in_jupyter_but_display_math_stays_whole() -> None:
    from mathcore.solution import jupyter_markdown

    md = jupyter_markdown("Subtract: $3x = 15$.\nDivide: $x = 5$.\n\\[\nx = 5\n\\]\nDone.\n\nNext.")
    assert md == "Subtract: $3x = 15$.  \nDivide: $x = 5$.  \n$$\nx = 5\n$$\nDone.\n\nNext."


def test_a_refuted_step_is_marked_after_its_line_or_its_display_block() -> None:
    from mathcore.solution import StepCheck, mark_refuted

    text = "We have $2 + 3 = 6$.\n\\[\n4 = 5\n\\]\nDone."
    checks = [StepCheck(1, "2 + 3 = 6", "wrong", "the left side is 5 and the right side is 6"),
              StepCheck(3, "4 = 5", "wrong", "the left side is 4 and the right side is 5"), StepCheck(5, "1 = 1", "verified", "")]
    assert mark_refuted(text, checks).split("\n") == [
        "We have $2 + 3 = 6$.", "", "> ⚠ **refuted:** $2 + 3 = 6$: the left side is 5 and the right side is 6", "",
        "\\[", "4 = 5", "\\]", "", "> ⚠ **refuted:** $4 = 5$: the left side is 4 and the right side is 5", "", "Done."]
    assert mark_refuted(text, checks[2:]) == text


@pytest.mark.parametrize(("text", "reason"), [
    (" This demonstration model cannot solve this kind of problem. It can solve linear equations. Use DeepSeekMath.",
     "This demonstration model cannot solve this kind of problem. It can solve linear equations. Use DeepSeekMath."),
    ("I'm sorry, but I can't answer questions about the meaning of life.", "I'm sorry, but I can't answer questions about the meaning of life."),
    ("% This demonstration model cannot prove this kind of statement.", "This demonstration model cannot prove this kind of statement."),
    ("We cannot solve it by factoring, so we use the formula: $\\boxed{2}$.", None),  # it answered
    ("Subtract 3 from both sides: $2x = 4$.", None),
])
def test_a_decline_is_read_as_no_answer_with_a_one_line_reason(text: str, reason: str | None) -> None:
    from mathcore.answers import declined
    from mathcore.sampling import SamplingParams
    from mathcore.solution import solve_result

    assert declined(text) == reason
    result = solve_result("What is the meaning of life?", [text], SamplingParams(), "embedded", equal=equal)
    assert result.to_json()["declined"] == reason
    if reason is not None:
        assert result.answer is None and "**Declined:**" in result._repr_markdown_()
