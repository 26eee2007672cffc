"""Incremental text for one generated sequence: new text per token, what is safe to send, where to stop.

Kept apart from the engine so it can be tested without a model. Per token, work is proportional
to the new text, never to the whole sequence (decoding the whole sequence again each step is
quadratic in its length and, at 32 rows, costs more than a GPU decode step):

- `Detokenizer` turns token ids into text a few tokens at a time (the offsets scheme of TGI and
  vLLM): it decodes a short window that starts one settled token back, so a tokenizer that
  strips a leading space or merges bytes still produces exactly `decode(all ids)` in pieces;
  half a multi-byte character is held until its other bytes arrive.
- `StopText` is fed those pieces and holds back a suffix that could still grow into a stop
  string; it searches for stops only where a new one could complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Detokenizer", "StopText"]


class Detokenizer:
    """Feed token ids one at a time; get the text each one settles."""

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer
        self.ids: list[int] = []
        self._prefix = 0  # start of the decode window: one settled token of context
        self._read = 0  # ids before this one have been turned into text

    def _decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=True))

    def add(self, token: int) -> str:
        """The text settled by `token` ("" while a character is still incomplete)."""
        self.ids.append(token)
        before = self._decode(self.ids[self._prefix : self._read])
        after = self._decode(self.ids[self._prefix :])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return after[len(before) :]
        return ""

    def flush(self) -> str:
        """Whatever is still unsettled, at the end of the sequence (a broken character decodes as U+FFFD)."""
        before = self._decode(self.ids[self._prefix : self._read])
        after = self._decode(self.ids[self._prefix :])
        self._prefix = self._read = len(self.ids)
        return after[len(before) :]


class StopText:
    """Feed each new piece of text; get the part that may be sent, and whether a stop string ended it."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.text = ""
        self.sent = 0

    def _held(self) -> int:
        """How many trailing characters could still be the start of a stop string."""
        held, text = 0, self.text
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(text)), held, -1):
                if text.endswith(stop[:k]):
                    held = k
                    break
        return held

    def feed(self, new: str, final: bool = False) -> tuple[str, bool]:
        """Return (text to send now, stopped). After `stopped` the sequence is complete.

        A stop string can only complete in the unsent tail (anything that could begin one is
        held back), so that tail, not the whole text, is searched.
        """
        self.text += new
        text = self.text
        cut = min((i for s in self.stops if (i := text.find(s, max(0, self.sent - len(s)))) >= 0), default=-1)
        if cut >= 0:
            delta = text[self.sent : cut]
            self.sent = max(self.sent, cut)
            return delta, True
        end = len(text)
        if not final:
            end -= self._held()
            while end > self.sent and text[end - 1] == "\ufffd":
                end -= 1
        delta = text[self.sent : end] if end > self.sent else ""
        self.sent = max(self.sent, end)
        return delta, False
