"""CUDA graphs of the decode step: one replay instead of a thousand kernel launches.

A 7B model's decode step is about 1,100 small kernels. On the lent H200 the host needed ~30 ms
to launch them while the GPU needed ~6 ms to run them (measured with the profiler, one token of
deepseek-math-7b's configuration): a single stream ran at 14-20 tokens/s, in `model.generate`
as in the engine. A CUDA graph records the launches once and replays them with one call, as
vLLM and SGLang do for their decode steps.

A graph is fixed in shapes and addresses, so a step's inputs are copied into static tensors and
there is one graph per (rows, attended columns), both rounded up to powers of two (rows: at
most log2(max batch) + 1 sizes; columns: from 256 to the context), captured the first time that
size is needed. The padding rows write their keys at position 0 of free slots (a row that later
takes such a slot copies its prompt over it first) and attend to that column only. Only
decode-only steps replay: a step with prompt pieces has shapes of its own every time and runs
eagerly. When the cache grows (new tensors) the graphs are dropped and captured again. If a
capture fails (a model whose forward synchronises with the host), graphs are turned off for good
and every step runs eagerly, as before.

`MATHASSIST_CUDA_GRAPHS=0` turns them off (to compare, or to debug a model).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from model_server.kvcache import SlotCache
from model_server.packed import Plan, decode_mask

__all__ = ["DecodeGraphs", "graphs_enabled"]

log = logging.getLogger("mathassist.engine")
MIN_COLUMNS = 256


def graphs_enabled(device: str) -> bool:
    """Graphs on CUDA devices, unless `MATHASSIST_CUDA_GRAPHS=0`."""
    return device.startswith("cuda") and os.environ.get("MATHASSIST_CUDA_GRAPHS", "1") != "0"


def _pow2(n: int, floor: int = 1) -> int:
    p = floor
    while p < n:
        p *= 2
    return p


@dataclass
class _Graph:
    graph: Any
    ids: Any  # [1, rows] long
    positions: Any  # [rows] long
    slots: Any  # [rows] long
    mask: Any  # [rows, 1, 1, columns] bool
    logits: Any  # [1, rows, vocab], written by each replay


class DecodeGraphs:
    """Captured decode steps for one model and its slot cache; `step` runs one (or returns None: run it eagerly)."""

    def __init__(self, model: Any, cache: SlotCache, first_slot: int) -> None:
        import torch

        self.model, self.cache, self.first_slot = model, cache, first_slot
        self.enabled = True
        self._graphs: dict[tuple[int, int], _Graph] = {}
        self._tensors: tuple[int, ...] = ()
        self._pool = torch.cuda.graph_pool_handle()

    @property
    def captured(self) -> int:
        """Graphs captured and alive (one per rows x columns size used since the cache last grew)."""
        return len(self._graphs)

    def _drop(self) -> None:
        """Forget every graph, and their memory pool with them (a pool whose graphs are all gone
        cannot take new ones: PyTorch asserts)."""
        import torch

        self._graphs.clear()
        self._pool = torch.cuda.graph_pool_handle()

    def _forward(self, g: _Graph, rows: int, columns: int) -> Any:
        self.cache.plan(g.slots, g.positions)
        plan = Plan(self.first_slot, rows, columns, g.mask, ())
        return self.model(input_ids=g.ids, position_ids=g.positions[None], attention_mask=g.mask, cache=self.cache,
                          use_cache=True, mathassist_plan=plan).logits

    def _fill(self, g: _Graph, tokens: list[int], positions: list[int]) -> None:
        import torch

        rows, columns = g.slots.shape[0], g.mask.shape[-1]
        pad = rows - len(tokens)
        device = g.ids.device
        g.ids.copy_(torch.tensor([tokens + [0] * pad], device=device))
        pos = torch.tensor(positions + [0] * pad, device=device)
        g.positions.copy_(pos)
        g.mask.copy_(decode_mask(pos, columns))

    def step(self, tokens: list[int], positions: list[int]) -> Any | None:
        """Logits `[rows, vocab]` of one decode step of these rows (slots first_slot...), or None if
        it cannot be replayed (then the caller runs it eagerly)."""
        import torch

        if not self.enabled:
            return None
        n, cache = len(tokens), self.cache
        rows = _pow2(n)
        columns = min(_pow2(max(positions) + 1, MIN_COLUMNS), cache.capacity)
        if self.first_slot + rows > cache.slots or max(positions) >= columns:
            return None  # no free slots to pad into, or the cache is about to grow: eager this once
        tensors = (cache.keys[0].data_ptr(), cache.keys[-1].data_ptr(), cache.values[-1].data_ptr())
        if tensors != self._tensors:  # the cache grew: graphs point at the old tensors
            self._drop()
            self._tensors = tensors
        g = self._graphs.get((rows, columns))
        if g is None:
            try:
                g = self._capture(tokens, positions, rows, columns)
            except Exception:
                log.exception("capturing a CUDA graph of the decode step failed; decode steps run eagerly from now on")
                self.enabled = False
                self._drop()
                torch.cuda.synchronize()
                return None
            self._graphs[(rows, columns)] = g
            return g.logits[0, :n]  # the capture's warm-up already ran this step
        self._fill(g, tokens, positions)
        g.graph.replay()
        return g.logits[0, :n]

    def _capture(self, tokens: list[int], positions: list[int], rows: int, columns: int) -> _Graph:
        """Warm up on the real inputs (that runs the step), then record it; replays write the same keys."""
        import torch

        device = self.cache.keys[0].device
        slots = torch.arange(self.first_slot, self.first_slot + rows, device=device)
        g = _Graph(None, torch.zeros(1, rows, dtype=torch.long, device=device), torch.zeros(rows, dtype=torch.long, device=device),
                   slots, torch.zeros(rows, 1, 1, columns, dtype=torch.bool, device=device), None)
        self._fill(g, tokens, positions)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self._forward(g, rows, columns)
            g.logits = self._forward(g, rows, columns)
        torch.cuda.current_stream().wait_stream(side)
        logits = g.logits.clone()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            g.logits = self._forward(g, rows, columns)
        g.graph = graph
        g.logits.copy_(logits)  # this step's answer, from the warm-up
        return g
