"""Incremental text for one generated sequence: what is safe to send, and where to stop.

Pure string logic, kept apart from the engine so it can be tested without a model. Two things
are held back from the client until they are settled: a trailing U+FFFD (the tokenizer decoded
half of a multi-byte character) and a suffix that could still grow into a stop string.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["StopText"]


class StopText:
    """Feed the full decoded text after each token; get the part that may be sent."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.sent = 0

    def _held(self, text: str) -> int:
        """How many trailing characters could still be the start of a stop string."""
        held = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(text)), held, -1):
                if text.endswith(stop[:k]):
                    held = k
                    break
        return held

    def feed(self, text: str, final: bool = False) -> tuple[str, bool]:
        """Return (new text to send, stopped). After `stopped` the sequence is complete."""
        cut = min((i for s in self.stops if (i := text.find(s, max(0, self.sent - len(s)))) >= 0), default=-1)
        if cut >= 0:
            delta = text[self.sent : cut]
            self.sent = max(self.sent, cut)
            return delta, True
        end = len(text)
        if not final:
            end -= self._held(text)
            while end > self.sent and text[end - 1] == "\ufffd":
                end -= 1
        delta = text[self.sent : end] if end > self.sent else ""
        self.sent = max(self.sent, end)
        return delta, False
