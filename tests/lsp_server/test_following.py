"""Typing along a suggestion (`assist.following`): the pure rules, and the Suggester that keeps
the generation in flight (a held fake model: the layer above the client)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import cast

from assist.connection import Connection
from assist.following import Anchor, Generation, agrees, rest_of
from assist.settings import Settings
from assist.suggest import Cursor, Suggester
from mathcore.languages import Language

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


class _HeldStream:
    """A model that writes `first`, then waits for the test to release the rest (deterministic: a
    real generation on an idle machine may end before the keystroke reaches the server)."""

    def __init__(self, first: str, rest: str) -> None:
        self.first, self.rest = first, rest
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.streams = 0

    async def client(self) -> _HeldStream:
        return self

    def lost(self, exc: Exception) -> None:
        raise AssertionError(f"no connection is lost here: {exc}")

    @contextlib.asynccontextmanager
    async def stream(self, prompt: str, params: object) -> AsyncIterator[AsyncIterator[SimpleNamespace]]:
        self.streams += 1

        async def deltas() -> AsyncIterator[SimpleNamespace]:
            yield SimpleNamespace(text=self.first)
            self.started.set()
            await self.release.wait()
            yield SimpleNamespace(text=self.rest)

        yield deltas()


async def test_a_keystroke_that_agrees_with_the_generation_in_flight_waits_for_it() -> None:
    """The first request is superseded by the keystroke; the second is the rest of the same
    generation, and the model was asked once."""
    model = _HeldStream("x^2 + ", "8x + 15 \\\\")
    suggester = Suggester(lambda: Settings(debounce_ms=0, verify="off"), cast(Connection, model))
    text = DOC + AFTER
    first = asyncio.ensure_future(suggester.next_step("doc", 1, Cursor(text, len(DOC), Language.LATEX), explicit=False))
    await model.started.wait()
    typed = DOC + "x^"
    second = asyncio.ensure_future(suggester.next_step("doc", 2, Cursor(typed + AFTER, len(typed), Language.LATEX), explicit=False))
    await asyncio.sleep(0.01)
    assert not second.done()  # it waits for the generation rather than starting another
    model.release.set()
    assert await first is None
    assert await second == "2 + 8x + 15"
    assert model.streams == 1


async def test_a_keystroke_that_disagrees_cancels_the_generation_and_asks_again() -> None:
    model = _HeldStream("x^2 + ", "8x + 15 \\\\")
    suggester = Suggester(lambda: Settings(debounce_ms=0, verify="off"), cast(Connection, model))
    first = asyncio.ensure_future(suggester.next_step("doc", 1, Cursor(DOC + AFTER, len(DOC), Language.LATEX), explicit=False))
    await model.started.wait()
    typed = DOC + "y"
    second = asyncio.ensure_future(suggester.next_step("doc", 2, Cursor(typed + AFTER, len(typed), Language.LATEX), explicit=False))
    await asyncio.sleep(0.01)
    assert first.done() and first.result() is None  # cancelled at once, not left to run
    assert model.streams == 2
    model.release.set()
    assert await second is not None
