"""Typing along a suggestion: the ghost text stays, and the model is not asked again.

An editor asks for an inline completion after every keystroke (VS Code cancels the request before
it). When the keys typed are the ones the shown suggestion begins with, the answer is the rest of
that suggestion: no generation and no wait, as Copilot and Tabby keep theirs. While a generation
is still running, a keystroke that agrees with what it has produced so far follows it rather than
cancelling it and starting again; one that disagrees cancels it as before.

Pure functions of the document's text; `assist.suggest` keeps the state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

__all__ = ["Anchor", "Generation", "agrees", "rest_of"]


@dataclass(frozen=True, eq=False)
class Anchor:
    """Where a suggestion was asked: the document's text before and after the cursor."""

    before: str
    after: str

    def typed_to(self, later: Anchor) -> str | None:
        """The text typed at this cursor to reach `later` ("" if nothing); None if anything else
        changed (text after the cursor, text before where the cursor was, a deletion past it)."""
        if later.after != self.after or len(later.before) < len(self.before) or not later.before.startswith(self.before):
            return None
        return later.before[len(self.before):]


def rest_of(suggestion: str, typed: str) -> str | None:
    """What is left of `suggestion` once `typed` is in the document; None when `typed` is not how
    it begins, or leaves nothing but spaces (the step is complete: the next one needs the model)."""
    if not suggestion.startswith(typed):
        return None
    rest = suggestion[len(typed):]
    return rest if rest.strip() else None


def agrees(generated: str, typed: str) -> bool:
    """Whether a generation that has produced `generated` so far may still begin with `typed`
    (spaces at the start aside: the suggestion is trimmed when it is complete)."""
    g, t = generated.lstrip(), typed.lstrip()
    n = min(len(g), len(t))
    return g[:n] == t[:n]


@dataclass(eq=False)
class Generation:
    """One generation for a document, and the requests waiting on it."""

    anchor: Anchor
    task: asyncio.Task[str | None] | None = None
    raw: str = ""  # the model's text so far
    asking: bool = False  # past the debounce: the model is generating
    waiters: int = 0

    def followable_from(self, later: Anchor) -> bool:
        """A request at `later` may wait for this generation: it is running and what was typed
        since it was asked agrees with what it has produced so far."""
        if not self.asking or self.task is None or self.task.done():
            return False
        typed = self.anchor.typed_to(later)
        return typed is not None and agrees(self.raw, typed)
