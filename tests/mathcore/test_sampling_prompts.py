"""The one validated sampling value, and the prompt formats."""

from __future__ import annotations

import pytest

from mathcore.prompts import chat_prompt, family_of, solve_prompt
from mathcore.sampling import InvalidParameter, SamplingParams


def test_defaults_follow_the_evaluation_practice() -> None:
    p = SamplingParams()
    assert (p.temperature, p.max_new_tokens, p.samples, p.top_k, p.top_p) == (0.0, 1024, 1, 0, 1.0)


@pytest.mark.parametrize(("field", "value", "shown", "words"), [
    ("temperature", -1, "temperature", "between 0 and 2"),
    ("temperature", 2.5, "--temperature", "between 0 and 2"),
    ("top_p", 0, "topP", "(0, 1]"),
    ("top_k", -1, "top_k", ">= 0"),
    ("max_new_tokens", 0, "max_tokens", "at least 1"),
    ("samples", 0, "n", "between 1 and 16"),
    ("seed", "x", "seed", "integer"),
    ("temperature", float("nan"), "temperature", "finite"),
])
def test_errors_name_the_field_as_the_user_wrote_it(field: str, value: object, shown: str, words: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        SamplingParams.create(names={field: shown}, **{field: value})
    assert info.value.param == shown
    assert shown in str(info.value) and words in str(info.value)


def test_none_means_default_and_integral_floats_are_integers() -> None:
    p = SamplingParams.create(temperature=None, top_k=5.0, samples=3)
    assert (p.temperature, p.top_k, p.samples) == (0.0, 5, 3)


def test_family_by_model_name() -> None:
    assert family_of("deepseek-ai/deepseek-math-7b-base") == "base"
    assert family_of("deepseek-ai/deepseek-math-7b-instruct") == "instruct"
    assert family_of("deepseek-ai/deepseek-math-7b-rl") == "instruct"
    assert family_of("embedded") == "instruct"


def test_instruct_prompt_is_exactly_the_deepseek_format() -> None:
    p = solve_prompt("What is $1+1$?", "instruct")
    assert p.text == "User: What is $1+1$?\nPlease reason step by step, and put your final answer within \\boxed{}.\n\nAssistant:"


def test_base_prompt_is_four_shot_and_stops_at_the_next_problem() -> None:
    p = solve_prompt("What is $1+1$?", "base")
    assert p.text.count("Problem:\n") == 5 and p.text.endswith("Problem:\nWhat is $1+1$?\n\nSolution:")
    assert p.text.count("I hope it is correct.") == 4
    assert "\nProblem:" in p.stop


def test_chat_multi_turn() -> None:
    text = chat_prompt([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}])
    assert text == "User: a\n\nAssistant: b<｜end▁of▁sentence｜>User: c\n\nAssistant:"
