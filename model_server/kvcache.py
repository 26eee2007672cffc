"""The engine's key/value memory: fixed slots written in place, and a store of recent prompts' caches.

`SlotCache` replaces a `DynamicCache` that grew by `torch.cat` every step (a full copy of every
row's cache per token) and was padded, concatenated and index-selected whenever a row joined or
left. Here each layer holds one tensor `[slots, kv_heads, capacity, head_dim]`; row `i` of the
running batch lives in slot `i`, its token at position `p` in column `p`. A decode step writes
each row's new key and value in place and attends over columns `[0, longest)` with a mask, so
its cost is the attention itself. A row that leaves is replaced by the last row (one row's
cache moves, the others stay put); a new request is prefilled, chunk by chunk, in a staging
slot of its own, then moved into the batch. Capacity grows by doubling (a copy, logarithmically
rarely) up to the model's context, so a short-context server does not reserve the longest case.

The model calls `update(key, value, layer)` from inside its attention, exactly as it calls a
transformers cache; the engine says beforehand which slots and positions are written (`plan`).

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

__all__ = ["PrefixStore", "SlotCache"]


class SlotCache:
    """Per-layer key/value tensors `[slots, kv_heads, capacity, head_dim]`, written in place."""

    def __init__(self, config: Any, slots: int, dtype: Any, device: Any, max_capacity: int, capacity: int = 256) -> None:
        import torch

        heads = int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
        self.layers = int(config.num_hidden_layers)
        self.slots, self.max_capacity = slots, max_capacity
        self.capacity = min(capacity, max_capacity)
        shape = (slots, heads, self.capacity, self.head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(self.layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(self.layers)]
        self._write: tuple[Any, ...] = ()

    @property
    def bytes_per_token(self) -> int:
        k = self.keys[0]
        return 2 * self.layers * k.shape[1] * self.head_dim * k.element_size()

    def reserve(self, length: int) -> None:
        """Make room for `length` positions per slot (doubling; the only time slots are copied wholesale)."""
        import torch.nn.functional as F

        if length <= self.capacity:
            return
        new = self.capacity
        while new < length:
            new *= 2
        new = min(new, self.max_capacity)
        grow = new - self.capacity
        self.keys = [F.pad(k, (0, 0, 0, grow)) for k in self.keys]
        self.values = [F.pad(v, (0, 0, 0, grow)) for v in self.values]
        self.capacity = new

    # ---- what the next forward pass writes --------------------------------------------------
    def plan(self, first: int, positions: Any, kv_length: int) -> None:
        """The next forward pass is rows `first..first+k-1` (slots), row `i` writing its tokens at
        `positions[i]` ([k, q], in place); attention reads columns `[0, kv_length)` of those slots.

        A decode step is rows `0..n-1` with one position each; a prefill chunk is staging slots
        with a run of positions each.
        """
        import torch

        rows = torch.arange(first, first + positions.shape[0], device=positions.device)[:, None]
        self._write = (rows, positions, first, kv_length)

    def update(self, key_states: Any, value_states: Any, layer_idx: int, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """Called by each attention layer with the new keys/values ([k, heads, q, dim]); returns what to attend to."""
        k, v = self.keys[layer_idx], self.values[layer_idx]
        rows, positions, first, kv_length = self._write
        k[rows, :, positions] = key_states.transpose(1, 2)  # [k, q, heads, dim] at (slot, position)
        v[rows, :, positions] = value_states.transpose(1, 2)
        last = first + positions.shape[0]
        return k[first:last, :, :kv_length], v[first:last, :, :kv_length]

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

    def save(self, slot: int, length: int) -> list[tuple[Any, Any]]:
        """A copy of slot `slot`'s first `length` positions, per layer."""
        return [(k[slot, :, :length].clone(), v[slot, :, :length].clone()) for k, v in zip(self.keys, self.values, strict=True)]


@dataclass
class _Entry:
    tokens: Any  # numpy int64 array
    kv: list[tuple[Any, Any]]
    nbytes: int


class PrefixStore:
    """Recent prompts' caches, least recently used first out, at most `max_bytes` in all."""

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

    def lookup(self, tokens: list[int]) -> tuple[list[tuple[Any, Any]] | None, int]:
        """The stored cache sharing the longest prefix with `tokens`, and how many tokens it covers."""
        import numpy as np

        if not self._entries:
            return None, 0
        arr = np.asarray(tokens, dtype=np.int64)
        best, best_n = None, 0
        for key, entry in self._entries.items():
            n = self._shared(arr, entry.tokens)
            if n > best_n:
                best, best_n = key, n
        if best is None:
            return None, 0
        self._entries.move_to_end(best)
        return self._entries[best].kv, best_n

    def would_keep(self, length: int) -> bool:
        return 0 < length * self.bytes_per_token <= self.max_bytes

    def add(self, tokens: list[int], kv: list[tuple[Any, Any]]) -> None:
        """Keep `kv` (the cache of `tokens`); entries it extends are dropped, old ones evicted to fit."""
        import numpy as np

        arr = np.asarray(tokens, dtype=np.int64)
        nbytes = len(arr) * self.bytes_per_token
        if not self.would_keep(len(arr)):
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
