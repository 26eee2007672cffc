"""Typing along a suggestion (`assist.following`): the pure rules."""

from __future__ import annotations

import asyncio

from assist.following import Anchor, Generation, agrees, rest_of

DOC = "\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= "
AFTER = "\n\\end{align*}\n"


def test_typed_to_gives_what_was_typed_at_the_cursor() -> None:
    a = Anchor(DOC, AFTER)
    assert a.typed_to(Anchor(DOC, AFTER)) == ""
    assert a.typed_to(Anchor(DOC + "x^2 +", AFTER)) == "x^2 +"


def test_typed_to_is_none_when_anything_else_changed() -> None:
    a = Anchor(DOC, AFTER)
    assert a.typed_to(Anchor(DOC + "x", AFTER + "%")) is None  # after the cursor
    assert a.typed_to(Anchor(DOC.replace("(x + 3)", "(x + 4)") + "x", AFTER)) is None  # above it
    assert a.typed_to(Anchor(DOC[:-1], AFTER)) is None  # deleted past where it was asked


def test_rest_of_a_suggestion_typed_along() -> None:
    assert rest_of("x^2 + 8x + 15", "") == "x^2 + 8x + 15"
    assert rest_of("x^2 + 8x + 15", "x^2 +") == " 8x + 15"
    assert rest_of("x^2 + 8x + 15", "x^3") is None  # typed something else
    assert rest_of("x^2 + 8x + 15", "x^2 + 8x + 15") is None  # all of it: the next step needs the model
    assert rest_of("x^2 + 8x + 15 ", "x^2 + 8x + 15") is None  # nothing but a space left


def test_agrees_compares_only_what_both_have() -> None:
    assert agrees("", "x^2")  # nothing generated yet
    assert agrees("x^2 + 8", "x^2")
    assert agrees("x^2", "x^2 + 8")  # typed further than generated: it may still agree
    assert agrees(" x^2", "x")  # a space the suggestion is trimmed of
    assert not agrees("x^3", "x^2")


async def test_a_generation_is_followable_only_while_it_asks_the_model() -> None:
    gen = Generation(Anchor(DOC, AFTER), raw="x^2 + 8")
    later = Anchor(DOC + "x^2", AFTER)
    assert not gen.followable_from(later)  # no task
    gen.task = asyncio.ensure_future(asyncio.sleep(10, result=None))
    try:
        assert not gen.followable_from(later)  # still in its debounce
        gen.asking = True
        assert gen.followable_from(later)
        assert not gen.followable_from(Anchor(DOC + "x^3", AFTER))
        assert not gen.followable_from(Anchor(DOC + "x^2", ""))
    finally:
        gen.task.cancel()
    await asyncio.gather(gen.task, return_exceptions=True)
    assert not gen.followable_from(later)  # finished: the shown suggestion answers instead
