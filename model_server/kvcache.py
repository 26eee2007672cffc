"""The engine's key/value memory: fixed slots written in place, and a store of recent prompts' caches.

`SlotCache` replaces a `DynamicCache` that grew by `torch.cat` every step (a full copy of every
row's cache per token) and was padded, concatenated and index-selected whenever a row joined or
left. Here each layer holds one tensor `[slots, kv_heads, capacity, head_dim]`: the first slots
stage prompts being prefilled, then row `i` of the running batch lives in the `i`-th slot after
them, its token at position `p` in column `p`. A decode step writes each row's new key and value
in place and attends over columns `[0, longest)` with a mask, so its cost is the attention
itself. A row that leaves is replaced by the last row (one row's cache moves, the others stay
put); a new request is prefilled, chunk by chunk, in a staging slot of its own, then moved into
the batch. Capacity and slots grow by doubling (a copy, logarithmically rarely) up to the
model's context and `--max-batch`, so memory follows use; on a GPU (`fit`) a resize also gives
back the slots or positions that the requests in the cache no longer need.

A slot holds no length of its own: the row's position says how many columns are valid, and
attention is masked to it. So rolling back is moving that position back: when a step checked
drafts that the model rejected, their keys and values stay in the columns past the position
and the next step writes over them before anything attends to them.

The model calls `update(key, value, layer)` from inside its attention, exactly as it calls a
transformers cache; the engine says beforehand which slot and position each token of the packed
step belongs to (`plan`), and `packed.packed_attention` reads the slots.

`PrefixStore` keeps the caches of recent prompts (an LRU bounded in bytes). A new prompt
starts from the longest stored prefix of its tokens and prefills only the rest: an editor's
keystroke at the end of a long document, `n` samples, or the base model's few-shot preamble.
Token ids that match give exactly the same keys and values (attention is causal), so reuse
changes no output; at least the prompt's last token is always computed, for its logits.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["PrefixStore", "SlotCache", "copy_prefix"]


class SlotCache:
    """Per-layer key/value tensors `[slots, kv_heads, capacity, head_dim]`, written in place."""

    def __init__(self, config: Any, slots: int, dtype: Any, device: Any, max_capacity: int, capacity: int = 256,
                 max_slots: int | None = None, fit: bool = False) -> None:
        import torch

        heads = int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
        self.layers = int(config.num_hidden_layers)
        self.max_capacity, self.max_slots = max_capacity, max_slots or slots
        self.slots, self.capacity = slots, min(capacity, max_capacity)
        self.fit = fit
        self._first = (self.capacity, slots)
        shape = (slots, heads, self.capacity, self.head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(self.layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(self.layers)]
        self._write: tuple[Any, ...] = ()

    @property
    def bytes_per_token(self) -> int:
        k = self.keys[0]
        return 2 * self.layers * k.shape[1] * self.head_dim * k.element_size()

    def reserve(self, length: int, slots: int) -> None:
        """Make room for `slots` slots of `length` positions, doubling either (the only time the
        cache is copied wholesale; a few times in a process's life). Memory follows the longest
        request and the most rows actually served, not the worst case the flags allow.

        With `fit`, the caller passes what every request in the cache needs (not only the new
        one), and a resize also gives back what the other dimension no longer needs: one long
        prompt after a burst of 32 streams grows the slots it uses, not all 36 (on a 7B model,
        36 slots of 4,096 positions are 69 GiB)."""
        import torch.nn.functional as F

        cap = self._size(self.capacity, length, self._first[0], self.max_capacity)
        n = self._size(self.slots, slots, self._first[1], self.max_slots)
        if cap <= self.capacity and n <= self.slots:
            return  # it fits: a cache only shrinks while it grows (no copy for shrinking alone)
        try:
            for i in range(self.layers):  # one layer at a time: the old and new copies of a layer, never of all
                k = self.keys[i]  # (a retry after running out of memory finds some layers resized already)
                resize = (0, 0, 0, cap - k.shape[2], 0, 0, 0, n - k.shape[0])  # negative: cropped
                self.keys[i] = F.pad(k, resize)
                self.values[i] = F.pad(self.values[i], resize)
        except BaseException:  # out of memory half way: every layer has at least the smaller of both shapes
            self.capacity, self.slots = min(cap, self.capacity), min(n, self.slots)
            raise
        self.capacity, self.slots = cap, n

    def _size(self, current: int, need: int, first: int, most: int) -> int:
        size = first if self.fit else current
        while size < need:
            size *= 2
        return min(size, most)

    # ---- what the next forward pass writes --------------------------------------------------
    def plan(self, slots: Any, positions: Any) -> None:
        """The next forward pass's packed tokens: token `t` belongs to slot `slots[t]` at `positions[t]`."""
        self._write = (slots, positions)

    def update(self, key_states: Any, value_states: Any, layer_idx: int, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """Called by each attention layer with the packed step's keys/values ([1, heads, T, dim]): they
        are written in place, and the layer's whole slot tensors are returned for `packed_attention`."""
        k, v = self.keys[layer_idx], self.values[layer_idx]
        slots, positions = self._write
        k[slots, :, positions] = key_states[0].transpose(0, 1)  # [T, heads, dim] at (slot, position)
        v[slots, :, positions] = value_states[0].transpose(0, 1)
        return k, v

    # ---- moving rows -----------------------------------------------------------------------
    def copy(self, src: int, dst: int, length: int) -> None:
        """Slot `dst` takes slot `src`'s first `length` positions."""
        for k, v in zip(self.keys, self.values, strict=True):
            k[dst, :, :length] = k[src, :, :length]
            v[dst, :, :length] = v[src, :, :length]

    def load(self, slot: int, saved: list[tuple[Any, Any]], length: int) -> None:
        """Slot `slot` takes the first `length` positions of a saved prefix."""
        for k, v, (sk, sv) in zip(self.keys, self.values, saved, strict=True):
            k[slot, :, :length] = sk[:, :length]
            v[slot, :, :length] = sv[:, :length]

    def store(self, slot: int, saved: list[tuple[Any, Any]], start: int, end: int) -> None:
        """Copy slot `slot`'s positions `[start, end)` into a saved prefix's buffers (after each prompt piece)."""
        for k, v, (sk, sv) in zip(self.keys, self.values, saved, strict=True):
            sk[:, start:end] = k[slot, :, start:end]
            sv[:, start:end] = v[slot, :, start:end]

    def buffers(self, capacity: int) -> list[tuple[Any, Any]]:
        """Empty per-layer buffers for a saved prefix of up to `capacity` positions."""
        import torch

        k = self.keys[0]
        shape = (k.shape[1], capacity, self.head_dim)
        return [(torch.empty(shape, dtype=k.dtype, device=k.device), torch.empty(shape, dtype=k.dtype, device=k.device))
                for _ in range(self.layers)]


def copy_prefix(src: list[tuple[Any, Any]], dst: list[tuple[Any, Any]], length: int) -> None:
    for (sk, sv), (dk, dv) in zip(src, dst, strict=True):
        dk[:, :length] = sk[:, :length]
        dv[:, :length] = sv[:, :length]


@dataclass
class _Entry:
    tokens: Any  # numpy int64 array
    kv: list[tuple[Any, Any]]  # per layer [kv_heads, capacity, head_dim], capacity >= len(tokens)
    nbytes: int


class PrefixStore:
    """Recent prompts' caches, least recently used first out, at most `max_bytes` in all.

    An entry's buffers have room to grow (`ROUND` positions at a time): a prompt that extends an
    entry (the next keystroke) takes the entry's buffers and writes only its new positions, so
    neither the save nor a copy of the shared part costs time proportional to the document. A
    prompt that branches off earlier (an edit in the middle) copies the shared part and leaves
    the entry as it was.
    """

    ROUND = 128

    def __init__(self, max_bytes: int, bytes_per_token: int) -> None:
        self.max_bytes = max_bytes
        self.bytes_per_token = bytes_per_token
        self.used = 0
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _shared(a: Any, b: Any) -> int:
        import numpy as np

        n = min(len(a), len(b))
        differ = np.flatnonzero(a[:n] != b[:n])
        return int(differ[0]) if len(differ) else n

    def capacity_for(self, length: int) -> int:
        return -(-length // self.ROUND) * self.ROUND

    def fits(self, length: int) -> bool:
        """Whether a prompt of `length` tokens can be kept at all."""
        return 0 < self.capacity_for(length) * self.bytes_per_token <= self.max_bytes

    def lookup(self, tokens: list[int]) -> tuple[int | None, int]:
        """The entry sharing the longest prefix with `tokens` (its key), and how many tokens it covers."""
        import numpy as np

        if not self._entries:
            return None, 0
        arr = np.asarray(tokens, dtype=np.int64)
        best, best_n = None, 0
        for key, entry in self._entries.items():
            n = self._shared(arr, entry.tokens)
            if n > best_n:
                best, best_n = key, n
        if best is not None:
            self._entries.move_to_end(best)
        return best, best_n

    def kv(self, key: int) -> list[tuple[Any, Any]]:
        return self._entries[key].kv

    def length(self, key: int) -> int:
        return len(self._entries[key].tokens)

    def capacity(self, key: int) -> int:
        return int(self._entries[key].kv[0][0].shape[1])

    def take(self, key: int) -> list[tuple[Any, Any]]:
        """Remove an entry and hand over its buffers (a prompt that extends it writes on in place)."""
        entry = self._entries.pop(key)
        self.used -= entry.nbytes
        return entry.kv

    def add(self, tokens: list[int], kv: list[tuple[Any, Any]]) -> None:
        """Keep `kv` (buffers holding the cache of `tokens`); entries it extends are dropped, old ones evicted to fit."""
        import numpy as np

        arr = np.asarray(tokens, dtype=np.int64)
        nbytes = int(kv[0][0].shape[1]) * self.bytes_per_token
        if not len(arr) or nbytes > self.max_bytes:
            return
        for key, entry in list(self._entries.items()):
            shared = self._shared(arr, entry.tokens)
            if shared == len(entry.tokens):  # the new entry covers this one
                self._drop(key)
            elif shared == len(arr):  # this one already covers the new entry
                self._entries.move_to_end(key)
                return
        while self._entries and self.used + nbytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        self._entries[self._next] = _Entry(arr, kv, nbytes)
        self._next += 1
        self.used += nbytes

    def _drop(self, key: int) -> None:
        self.used -= self._entries.pop(key).nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.used = 0
