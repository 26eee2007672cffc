"""Prefix reuse: a new prompt starts from the longest saved prefix of its tokens, and is saved for the next.

The policy over `kvcache.PrefixStore` (which only stores and finds): prompts shorter than
MIN_KEPT are not worth a saved copy; a prompt that extends a saved one (the next keystroke at
the end of a document) takes that entry's buffers over and writes on in place, even when its
last EDGE tokens differ (re-tokenised at the edit), so neither the save nor a copy of the
shared part costs time proportional to the document; one that branches off earlier copies the
shared part and leaves the entry as it was. A prompt is saved piece by piece as it is
prefilled (no copy of the whole prompt when it finishes), and a cancelled one keeps what it got.
The last prompt token is always computed: its logits start the answer.
"""

from __future__ import annotations

from typing import Any

from model_server.kvcache import PrefixStore, SlotCache, copy_prefix

__all__ = ["EDGE", "MIN_KEPT", "PrefixReuse"]

MIN_KEPT = 16  # prompts shorter than this are not worth keeping for reuse
EDGE = 2  # a prompt that extends a saved one but for its last tokens (re-tokenised at the edit) takes it over

Buffers = list[tuple[Any, Any]]


class PrefixReuse:
    """Saved prompts' caches beside a `SlotCache`, at most `max_bytes` of them."""

    def __init__(self, cache: SlotCache, max_bytes: int) -> None:
        self.cache = cache
        self.store = PrefixStore(max_bytes, cache.bytes_per_token)

    def __len__(self) -> int:
        return len(self.store)

    def start(self, prompt: list[int], slot: int) -> tuple[int, Buffers | None]:
        """Load the longest saved prefix of `prompt` into `slot`; return how many tokens that covers,
        and the buffers this prompt will be saved into (None: it will not be kept)."""
        n = len(prompt)
        key, shared = self.store.lookup(prompt)
        shared = max(0, min(shared, n - 1))
        source = self.store.kv(key) if key is not None and shared > 0 else None
        buffers = None
        if n >= MIN_KEPT and self.store.fits(n):
            if source is not None and key is not None and shared >= self.store.length(key) - EDGE and self.store.capacity(key) >= n:
                buffers = source = self.store.take(key)  # it extends that prompt: write on in place
            else:
                buffers = self.cache.buffers(self.store.capacity_for(n))
                if source is not None:
                    copy_prefix(source, buffers, shared)
        if source is not None:
            self.cache.load(slot, source, shared)
        return shared, buffers

    def save(self, slot: int, buffers: Buffers | None, start: int, end: int) -> None:
        """Copy a piece just prefilled in `slot` into the prompt's saved buffers."""
        if buffers is not None:
            self.cache.store(slot, buffers, start, end)

    def keep(self, prompt: list[int], done: int, buffers: Buffers | None) -> None:
        """Remember the first `done` tokens of a prompt (all of it, or up to its cancellation)."""
        if buffers is not None and done >= MIN_KEPT:
            self.store.add(prompt[:done], buffers)

    def clear(self) -> None:
        """Forget every saved prompt (to give their memory to the slot cache)."""
        self.store.clear()
