"""The corpus generators: every worked step is right, and the arithmetic is written out digit by digit.

A wrong template would teach the embedded model a wrong fact, so these check the written steps
themselves (not only the final answers) against plain integer arithmetic.
"""

from __future__ import annotations

import contextlib
import io
import random
import re

import pytest
import sympy as sp

from checker import answers_equal
from training.corpus import decline_document, documents, instruct_document
from training.families import FAMILIES, column_steps, place_values, reduce_steps, signed_steps, times_steps
from training.phrasing import DECLINE, DECLINE_PROOF, TEMPLATES, THEOREMS, out_of_scope, phrase


@pytest.mark.slow  # sympy checks every step of 300 solutions a family (15 s in all)
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_generates_checked_solutions(name: str) -> None:
    rng = random.Random(7)
    for _ in range(300):
        w = FAMILIES[name](rng)  # each generator asserts its own steps with sympy
        assert w.family == name and w.answer and w.steps


@pytest.mark.slow  # sympy over every equation of many documents (6 s)
def test_every_equation_written_in_a_solution_holds() -> None:
    """Each `$p op q = r$` with plain integers in any solution is true arithmetic."""
    fact = re.compile(r"\$(-?\d+) ([-+]|\\times) (\d+)(?: \+ (\d+))? = (-?\d+)\$")
    rng = random.Random(11)
    checked = 0
    for name, gen in FAMILIES.items():
        for _ in range(200):
            for step in gen(rng).steps:
                for a, op, b, carry, r in fact.findall(step):
                    value = int(a) * int(b) if op == "\\times" else int(a) + int(b) if op == "+" else int(a) - int(b)
                    assert value + int(carry or 0) == int(r), (name, step)
                    checked += 1
    assert checked > 1000


def test_column_subtraction_writes_every_borrow() -> None:
    steps, value = column_steps(760, "-", 11)
    assert value == 749
    assert steps == [
        "In place values, $760 = 700 + 60 + 0$ and $11 = 10 + 1$.",
        "Ones: $0 < 1$, borrow 1: $10 - 1 = 9$.",
        "Tens: $6 - 1 = 5$ after the borrow, $5 - 1 = 4$.",
        "Hundreds: $7 - 0 = 7$.",
        "So $760 - 11 = 749$.",
    ]


def test_column_multiplication_carries_into_a_new_digit() -> None:
    steps, value = column_steps(526, "*", 4)
    assert value == 2104
    assert steps[-2:] == ["Write the final carry 2.", "So $526 \\times 4 = 2104$."]
    assert place_values(526) == "526 = 500 + 20 + 6"


@pytest.mark.parametrize(
    ("c", "op", "m", "rule"),
    [
        (-1, "-", 17, "$-1 - 17 = -(1 + 17)$."),
        (2, "-", 9, "$2 - 9 = -(9 - 2)$."),
        (-11, "+", 19, "$-11 + 19 = 19 - 11$."),
        (-40, "+", 16, "$-40 + 16 = -(40 - 16)$."),
        (91, "+", 19, None),
    ],
)
def test_signed_sums_reduce_to_one_unsigned_column_sum(c: int, op: str, m: int, rule: str | None) -> None:
    steps, value = signed_steps(c, op, m)
    assert value == (c + m if op == "+" else c - m)
    assert steps[-1].endswith(f"= {value}$.")
    if rule:
        assert steps[0] == rule


def test_every_signed_sum_in_range_is_right() -> None:
    for c in range(-60, 200, 7):
        for m in range(1, 40):
            for op in "+-":
                assert signed_steps(c, op, m)[1] == (c + m if op == "+" else c - m)


@pytest.mark.parametrize(
    ("num", "den", "answer"),
    [(-22, -8, "\\frac{11}{4}"), (-18, 6, "-3"), (50, 12, "\\frac{25}{6}"), (0, -7, "0"), (144, 12, "12"), (9, 2, "\\frac{9}{2}")],
)
def test_fractions_are_reduced_one_prime_at_a_time(num: int, den: int, answer: str) -> None:
    steps, got = reduce_steps(num, den)
    assert got == answer
    assert sp.sympify(got.replace("\\frac{", "(").replace("}{", ")/(").replace("}", ")")) == sp.Rational(num, den)
    for step in steps:  # every written division keeps the value
        for p, q, p2, q2 in re.findall(r"\\frac\{(\d+)\}\{(\d+)\} = \\frac\{(\d+)\}\{(\d+)\}", step):
            assert sp.Rational(int(p), int(q)) == sp.Rational(int(p2), int(q2))


@pytest.mark.slow  # thousands of documents generated (5 s)
def test_the_mixture_weights_shift_the_families() -> None:
    def share(weights: dict[str, float] | None) -> float:
        stream = documents(3, weights)
        docs = [next(stream) for _ in range(600)]  # ~35 linear solutions at weight 1, ~100 at weight 4
        return sum("We want to isolate" in d for d in docs) / len(docs)

    assert share({"linear": 4.0}) > 2 * share(None)


def test_the_shipped_tokenizer_splits_digits_one_by_one() -> None:
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast.from_pretrained("model_server/embedded")
    w = FAMILIES["arithmetic"](random.Random(1))
    ids = tok(instruct_document(w), add_special_tokens=False)["input_ids"]
    pieces = [tok.decode([i]) for i in ids]
    assert all(len(p.strip()) <= 1 or not any(ch.isdigit() for ch in p) for p in pieces)
    assert "".join(pieces) == instruct_document(w)


@pytest.mark.slow  # it compares answers in the checker's worker processes
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_program_prints_what_the_corpus_says_it_prints(name: str) -> None:
    """The tool-format documents show a program's output: it must be that program's real output."""
    rng = random.Random(5)
    for _ in range(40):
        w = FAMILIES[name](rng)
        assert w.program is not None
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(w.program.code, {})  # our own generated program, not model text
        assert out.getvalue().strip() == w.program.output
        assert answers_equal(w.program.answer, w.answer)


def test_multi_operation_arithmetic_is_right_and_written_in_the_order_of_operations() -> None:
    rng = random.Random(2)
    for _ in range(200):
        w = FAMILIES["multi"](rng)
        python = w.math.replace("\\times", "*")
        assert eval(python) == int(w.answer)  # our own generated integer expression
        assert w.steps[-1] == f"So ${w.math} = {w.answer}$."
    steps, value = times_steps(347, 12)
    assert value == 4164 and steps[0] == "$347 \\times 12 = 347 \\times 10 + 347 \\times 2$." and steps[-1].endswith("= 4164$.")


def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression: its words in order, anything where a field goes."""
    parts = [p.strip() for p in re.split(r"\{\w+\}", template)]
    parts[-1] = parts[-1].rstrip(".")  # people drop the full stop
    return re.compile(".+?".join(re.escape(p) for p in parts if p), re.I)


@pytest.mark.slow  # a large sample of the corpus searched (11 s)
def test_held_out_phrasings_never_reach_the_training_corpus() -> None:
    """The evaluation's phrasings are unseen: no training question matches a held-out template."""
    held_out = {kind: [_pattern(t) for t in pair[1]] for kind, pair in TEMPLATES.items()}
    for kind, (train, test) in TEMPLATES.items():
        assert not set(train) & set(test), kind
    stream = documents(4)
    docs = [next(stream) for _ in range(2500)]
    questions = [d.split("\n", 1)[0] for d in docs if d.startswith("User: ")]
    assert len(questions) > 1200
    for q in questions:
        for kind, patterns in held_out.items():
            assert not any(p.search(q) for p in patterns), (kind, q)
    # nor a held-out statement to decline
    declined = [d for d in docs if DECLINE_PROOF in d]
    assert declined and not any(t in d for d in declined for t in THEOREMS[1])
    assert not set(THEOREMS[0]) & set(THEOREMS[1])
    rng = random.Random(1)  # and the held-out half is really used by the evaluation
    w = FAMILIES["linear"](rng)
    assert any(any(p.search(phrase(w, rng, "held_out")) for p in held_out["linear"]) for _ in range(20))


def test_phrasings_vary_the_surface_and_keep_the_mathematics() -> None:
    rng = random.Random(3)
    w = FAMILIES["multi"](rng)
    asked = {phrase(w, rng) for _ in range(300)}
    assert len(asked) > 100
    assert any("$" not in q for q in asked) and any("\\cdot" in q for q in asked) and any("*" in q for q in asked)
    for q in asked:  # the numbers are all there, in order
        assert re.findall(r"\d+", q) == re.findall(r"\d+", w.math)


def test_out_of_scope_questions_are_declined_without_an_answer() -> None:
    from mathcore.answers import extract_answer

    rng = random.Random(6)
    doc = decline_document(rng)
    assert doc.endswith(DECLINE) and extract_answer(doc.split("Assistant:", 1)[1]) is None
    train = {out_of_scope(rng, "train") for _ in range(300)}
    test = {out_of_scope(rng, "held_out") for _ in range(300)}
    assert len(train) > 150 and len(test) > 50 and not train & test
