"""The model runner: turns the scheduler's `Step` into one forward pass and returns its logits.

It owns everything that is a tensor: the slot cache (made on the engine thread, under
`torch.inference_mode`, where every later write happens), the packing of rows and prompt pieces
into one sequence `[1, T]` with their slots, positions and masks (`packed`), and the CUDA graphs
that replay decode-only steps (`graphs`). It decides nothing about who runs: the scheduler has
done that, and the output step reads what comes back. As in nano-vllm's `ModelRunner`, this is
the only place that calls the model.
"""

from __future__ import annotations

import time
from typing import Any

from model_server.batch import Step, StepResult
from model_server.graphs import DecodeGraphs, graphs_enabled
from model_server.kvcache import SlotCache
from model_server.loading import LoadedModel
from model_server.packed import Piece, Plan, decode_mask, piece_mask, use_packed_attention

__all__ = ["ModelRunner"]


class ModelRunner:
    """Runs packed steps of `loaded.model` over a `SlotCache` of `slots` slots, the first `staging` for prompts."""

    def __init__(self, loaded: LoadedModel, slots: int, staging: int, fit: bool) -> None:
        self.loaded = loaded
        self.slots, self.staging, self.fit = slots, staging, fit
        self.cache: SlotCache | None = None  # made by `start`, on the engine thread
        self.graphs: DecodeGraphs | None = None  # CUDA only: replayed decode steps

    def start(self) -> SlotCache:
        """Route attention through the packed kernel and make the cache (and graphs on CUDA).

        A cache that fits its use (GPU) starts with a few slots and grows with the rows served; one
        that does not (CPU) has all its slots from the start, since growing 8 slots of 4,096
        positions stalls every stream for 0.4 s on a CPU while a GPU copies them in milliseconds.
        """
        model = self.loaded.model
        use_packed_attention(model)
        first = min(2 * self.staging, self.slots) if self.fit else self.slots
        dtype = next(model.parameters()).dtype
        self.cache = SlotCache(model.config, first, dtype, self.loaded.device, self.loaded.context_length,
                               max_slots=self.slots, fit=self.fit)
        if graphs_enabled(self.loaded.device):
            self.graphs = DecodeGraphs(model, self.cache, self.staging)
        return self.cache

    def run(self, step: Step) -> StepResult:
        """One forward pass; a decode-only step on CUDA replays a captured graph, anything else runs eagerly."""
        t0 = time.monotonic()
        logits = None
        if self.graphs is not None and step.decode_only:
            logits = self.graphs.step([r.tokens[0] for r in step.rows], [r.position for r in step.rows])
        if logits is None:
            logits = self._eager(step)
        logits = logits.float()
        return StepResult(logits, time.monotonic() - t0)

    def _eager(self, step: Step) -> Any:
        """Pack rows then prompt pieces into one sequence, tell the cache where each token goes, run the model.

        Rows of one token each attend as one batched call over their contiguous slots. When a row
        feeds several tokens (its last token and drafts to verify), every row becomes a piece of
        its own slot, causal from its position, exactly as a prompt piece is: rows may feed
        different numbers of tokens, and no row pays for another's drafts."""
        import torch

        cache, device = self.cache, self.loaded.device
        assert cache is not None
        rows = step.rows
        assert [r.slot for r in rows] == list(range(self.staging, self.staging + len(rows))), "rows live in the slots after staging"
        grouped = all(len(r.tokens) == 1 for r in rows)
        n = len(rows) if grouped else 0  # rows attended as one batched call
        tokens: list[int] = []
        slots: list[int] = []
        positions: list[int] = []
        pieces: list[Piece] = []
        keep: list[int] = []
        for r in rows:
            if not grouped:
                pieces.append(Piece(r.slot, len(tokens), r.position, len(r.tokens), piece_mask(r.position, len(r.tokens), device)))
            keep += range(len(tokens), len(tokens) + len(r.tokens))
            tokens += r.tokens
            slots += [r.slot] * len(r.tokens)
            positions += range(r.position, r.position + len(r.tokens))
        for p in step.prompts:
            size = len(p.tokens)
            pieces.append(Piece(p.slot, len(tokens), p.start, size, piece_mask(p.start, size, device)))
            tokens += p.tokens
            slots += [p.slot] * size
            positions += range(p.start, p.start + size)
            if p.last:
                keep.append(len(tokens) - 1)
        kv_length = max((r.position for r in rows), default=0) + 1
        pos_t = torch.tensor(positions, device=device)
        row_mask = decode_mask(pos_t[:n], kv_length) if n else None
        plan = Plan(self.staging, n, kv_length, row_mask, tuple(pieces))
        cache.plan(torch.tensor(slots, device=device), pos_t)
        out = self.loaded.model(
            input_ids=torch.tensor([tokens], device=device),
            position_ids=pos_t[None],
            attention_mask=row_mask if row_mask is not None else torch.ones(1, 1, 1, 1, dtype=torch.bool, device=device),
            cache=cache,
            use_cache=True,
            logits_to_keep=torch.tensor(keep, dtype=torch.long, device=device),
            mathassist_plan=plan,
        )
        return out.logits[0]
