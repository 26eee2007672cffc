"""The batching engine: one thread, one running batch, requests join and leave between steps.

Why our own decode loop rather than transformers' continuous batching: that one (5.x) killed its
worker on temperature 0, checks no ranges or lengths, has no stop strings, and starves under
concurrency (see the model-process issue). This loop is small and every rule is ours:

- the batch is a left-padded KV cache (`DynamicCache`, keys `[rows, heads, T, dim]`), an
  attention mask and per-row positions; a new request is prefilled alone, its cache repeated for
  `n` samples, padded and concatenated onto the batch before the next step;
- every row samples with its own temperature/top-k/top-p and its own seeded generator;
- after each step, rows that finished (EOS, stop string, max tokens) or whose request was
  cancelled leave the batch, and columns that every row pads are trimmed;
- results cross to asyncio through `loop.call_soon_threadsafe`, one call per request per step.

torch runs in this thread only; the HTTP event loop never waits on a forward pass.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from mathcore.sampling import SamplingParams
from model_server.errors import PromptTooLong, QueueFull, RequestError
from model_server.loading import LoadedModel
from model_server.metrics import Metrics
from model_server.sampler import sample_rows
from model_server.textstream import StopText

__all__ = ["Engine", "Event", "Request"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Progress of one sample (`index`): new text, and a finish reason once it is complete."""

    index: int
    text: str
    finish_reason: str | None = None
    tokens: int = 0
    logprob: float = 0.0
    token_ids: tuple[int, ...] = ()
    token_logprobs: tuple[float, ...] = ()


class Request:
    """A submitted generation; iterate `events()` on the event loop that submitted it.

    The send buffer is bounded: events that a slow reader has not taken yet are merged per
    sample (their texts joined), so a client that stops reading holds at most one pending event
    per sample however long the batch runs on, and never holds the batch back.
    """

    def __init__(self, prompt_ids: list[int], params: SamplingParams, loop: asyncio.AbstractEventLoop,
                 ignore_eos: bool = False) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.prompt_ids = prompt_ids
        self.params = params
        self.ignore_eos = ignore_eos
        self.created = time.monotonic()
        self.cancelled = threading.Event()
        self.error: str | None = None
        self._loop = loop
        self._pending: dict[int, Event] = {}
        self._ready = asyncio.Event()
        self._open = params.samples

    def deliver(self, events: list[Event]) -> None:
        """Called from the engine thread."""
        self._loop.call_soon_threadsafe(self._push, events)

    def fail(self, message: str) -> None:
        """Called from the engine thread; the reader sees what came before, then the error."""
        self._loop.call_soon_threadsafe(self._fail, message)

    def _fail(self, message: str) -> None:
        self.error = message
        self._ready.set()

    def _push(self, events: list[Event]) -> None:
        for ev in events:
            old = self._pending.get(ev.index)
            self._pending[ev.index] = ev if old is None else dataclasses.replace(ev, text=old.text + ev.text)
        self._ready.set()

    async def events(self) -> AsyncIterator[Event]:
        """Events until every sample has finished; raises RuntimeError if the engine failed."""
        while self._open > 0:
            await self._ready.wait()
            self._ready.clear()
            batch, self._pending = list(self._pending.values()), {}
            for ev in batch:
                if ev.finish_reason is not None:
                    self._open -= 1
                yield ev
            if self.error is not None and not self._pending:
                raise RuntimeError(self.error)


@dataclass
class _Row:
    req: Request
    index: int
    generator: Any
    stop: StopText
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    logprob: float = 0.0
    last_time: float = 0.0


class Engine:
    """Owns the model; `submit` from the event loop, everything else runs on the engine thread."""

    def __init__(self, loaded: LoadedModel, max_batch: int = 16, max_queue: int = 64) -> None:
        self.loaded = loaded
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.metrics = Metrics()
        self._pending: collections.deque[Request] = collections.deque()
        self._wake = threading.Condition()
        self._rows: list[_Row] = []
        self._running: set[str] = set()
        self._cache: Any = None
        self._mask: Any = None
        self._pos: Any = None
        self._last: Any = None
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="mathassist-engine", daemon=True)
        self.eos_id = loaded.tokenizer.eos_token_id

    # ---- event-loop side -------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=10)

    def check_length(self, n_prompt: int, max_new_tokens: int, field_name: str = "max_tokens") -> None:
        """Refuse, before any work, what cannot fit the context; messages give the allowed range."""
        ctx = self.loaded.context_length
        if n_prompt >= ctx:
            raise PromptTooLong(
                f"the prompt has {n_prompt} tokens but the model's context is {ctx}; shorten the prompt", "prompt"
            )
        if n_prompt + max_new_tokens > ctx:
            raise PromptTooLong(
                f"{field_name} must be between 1 and {ctx - n_prompt} for this prompt of {n_prompt} tokens "
                f"(context {ctx}), got {max_new_tokens}",
                field_name,
            )

    def submit(self, prompt_ids: list[int], params: SamplingParams, ignore_eos: bool = False) -> Request:
        """Queue a generation; raises QueueFull or PromptTooLong without touching the model."""
        self.check_length(len(prompt_ids), params.max_new_tokens)
        if params.samples > self.max_batch:  # it could never join the batch
            raise RequestError(f"n must be between 1 and {self.max_batch} on this server (its --max-batch), got {params.samples}", "n")
        req = Request(prompt_ids, params, asyncio.get_running_loop(), ignore_eos)
        with self._wake:
            if len(self._pending) >= self.max_queue:
                raise QueueFull(f"{len(self._pending)} requests are already waiting; retry in a moment")
            self._pending.append(req)
            self._wake.notify()
        return req

    def cancel(self, req: Request) -> None:
        """Abandon a request: it leaves the queue or the batch before the next step."""
        if not req.cancelled.is_set():
            req.cancelled.set()
            with self._wake:
                self._wake.notify()

    def stats(self) -> dict[str, int]:
        with self._wake:
            return {"running": len(self._running), "queued": len(self._pending), "rows": len(self._rows)}

    def render_metrics(self) -> str:
        s = self.stats()
        return self.metrics.render(s["running"], s["queued"], s["rows"])

    # ---- engine thread ----------------------------------------------------------------
    def _loop(self) -> None:
        import torch

        with torch.inference_mode():
            while True:
                with self._wake:
                    while not self._stopping and not self._pending and not self._rows:
                        self._wake.wait()
                    if self._stopping:
                        return
                try:
                    self._admit()
                    self._drop_cancelled()
                    if self._rows:
                        self._step()
                except Exception as exc:  # a failed step must not kill the engine for later requests
                    log.exception("engine step failed")
                    self._fail_all(f"the model failed: {type(exc).__name__}: {exc}")

    def _admit(self) -> None:
        while True:
            with self._wake:
                if not self._pending or len(self._rows) + self._pending[0].params.samples > self.max_batch:
                    return
                req = self._pending.popleft()
                if req.cancelled.is_set():
                    self._count_cancelled()
                    continue
                self._running.add(req.id)
            try:
                self._prefill(req)
            except Exception as exc:  # only this request fails; the batch carries on
                log.exception("prefill failed")
                with self._wake:
                    self._running.discard(req.id)
                with self.metrics.lock:
                    self.metrics.failed += 1
                req.fail(f"the model failed on this prompt: {type(exc).__name__}: {exc}")

    def _prefill(self, req: Request) -> None:
        import torch
        from transformers import DynamicCache

        model, device = self.loaded.model, self.loaded.device
        p = req.params
        t0 = time.monotonic()
        ids = torch.tensor([req.prompt_ids], device=device)
        cache = DynamicCache()
        out = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
        logits = out.logits[:, -1, :].float()
        if p.samples > 1:
            cache.batch_repeat_interleave(p.samples)
            logits = logits.expand(p.samples, -1)
        seed = p.seed if p.seed is not None else secrets.randbits(48)
        rows = []
        for i in range(p.samples):
            gen = None
            if p.temperature > 0:
                gen = torch.Generator(device=device)
                gen.manual_seed((seed + i) % 2**64)  # any 64-bit seed, negative ones too, as torch takes it
            rows.append(_Row(req, i, gen, StopText(p.stop)))
        n, length = p.samples, len(req.prompt_ids)
        self._merge(cache, torch.ones(n, length, dtype=torch.long, device=device),
                    torch.full((n,), length, dtype=torch.long, device=device), rows)
        with self.metrics.lock:
            self.metrics.prompt_tokens += length
            self.metrics.busy_seconds += time.monotonic() - t0
            self.metrics.ttft.observe(time.monotonic() - req.created)
        self._advance(rows, logits, list(range(len(self._rows) - n, len(self._rows))))

    def _merge(self, cache: Any, mask: Any, pos: Any, rows: list[_Row]) -> None:
        import torch
        import torch.nn.functional as F

        last = torch.zeros(len(rows), dtype=torch.long, device=mask.device)
        if self._cache is None:
            self._cache, self._mask, self._pos, self._last, self._rows = cache, mask, pos, last, rows
            return
        t_old, t_new = self._mask.shape[1], mask.shape[1]
        if t_old < t_new:
            self._pad_left(self._cache, t_new - t_old)
            self._mask = F.pad(self._mask, (t_new - t_old, 0))
        elif t_new < t_old:
            self._pad_left(cache, t_old - t_new)
            mask = F.pad(mask, (t_old - t_new, 0))
        for mine, theirs in zip(self._cache.layers, cache.layers, strict=True):
            mine.keys = torch.cat([mine.keys, theirs.keys])
            mine.values = torch.cat([mine.values, theirs.values])
        self._mask = torch.cat([self._mask, mask])
        self._pos = torch.cat([self._pos, pos])
        self._last = torch.cat([self._last, last])
        self._rows = self._rows + rows

    @staticmethod
    def _pad_left(cache: Any, n: int) -> None:
        import torch.nn.functional as F

        for layer in cache.layers:
            layer.keys = F.pad(layer.keys, (0, 0, n, 0))
            layer.values = F.pad(layer.values, (0, 0, n, 0))

    def _step(self) -> None:
        import torch

        t0 = time.monotonic()
        ones = torch.ones(len(self._rows), 1, dtype=self._mask.dtype, device=self._mask.device)
        self._mask = torch.cat([self._mask, ones], dim=1)
        out = self.loaded.model(
            input_ids=self._last[:, None],
            attention_mask=self._mask,
            position_ids=self._pos[:, None],
            cache=self._cache,
            use_cache=True,
        )
        self._pos = self._pos + 1
        logits = out.logits[:, -1, :].float()
        with self.metrics.lock:
            self.metrics.busy_seconds += time.monotonic() - t0
        self._advance(self._rows, logits, list(range(len(self._rows))))

    def _advance(self, rows: list[_Row], logits: Any, slots: list[int]) -> None:
        """Sample one token for each row, send text, and retire the rows that finished."""
        tokens, logprobs = sample_rows(logits, [r.req.params for r in rows], [r.generator for r in rows])
        now = time.monotonic()
        per_request: dict[str, tuple[Request, list[Event]]] = {}
        done: list[int] = []
        tok_dec = self.loaded.tokenizer
        gaps = [now - r.last_time for r in rows if r.last_time]
        for row, slot, tok, lp in zip(rows, slots, tokens, logprobs, strict=True):
            row.last_time = now
            self._last[slot] = tok
            finish = None
            if tok == self.eos_id and not row.req.ignore_eos:
                delta, _ = row.stop.feed(tok_dec.decode(row.ids, skip_special_tokens=True), final=True)
                finish = "stop"
            else:
                row.ids.append(tok)
                row.logprobs.append(lp)
                row.logprob += lp
                delta, stopped = row.stop.feed(tok_dec.decode(row.ids, skip_special_tokens=True))
                if stopped:
                    finish = "stop"
                elif len(row.ids) >= row.req.params.max_new_tokens:
                    more, _ = row.stop.feed(tok_dec.decode(row.ids, skip_special_tokens=True), final=True)
                    delta += more
                    finish = "length"
            if delta or finish:
                tail = (tuple(row.ids), tuple(row.logprobs)) if finish else ((), ())
                ev = Event(row.index, delta, finish, len(row.ids), row.logprob, *tail)
                per_request.setdefault(row.req.id, (row.req, []))[1].append(ev)
            if finish:
                done.append(slot)
        with self.metrics.lock:
            self.metrics.generated_tokens += len(rows)
            for gap in gaps:
                self.metrics.per_token.observe(gap)
        if done:  # retire first, so a client that sees its last event finds nothing in flight
            self._retire(done)
        for req, events in per_request.values():
            req.deliver(events)

    def _retire(self, slots: list[int], cancelled: bool = False) -> None:
        import torch

        gone = set(slots)
        leaving = {self._rows[i].req.id for i in gone}
        keep = [i for i in range(len(self._rows)) if i not in gone]
        self._rows = [self._rows[i] for i in keep]
        still = {r.req.id for r in self._rows}
        with self._wake:
            for rid in leaving - still:
                self._running.discard(rid)
        with self.metrics.lock:
            if cancelled:
                self.metrics.cancelled += len(leaving - still)
            else:
                self.metrics.finished += len(leaving - still)
        if not keep:
            self._cache = self._mask = self._pos = self._last = None
            return
        idx = torch.tensor(keep, device=self._mask.device)
        self._cache.batch_select_indices(idx)
        self._mask, self._pos, self._last = self._mask[idx], self._pos[idx], self._last[idx]
        first = int(self._mask.any(dim=0).nonzero()[0])
        if first > 0:
            self._mask = self._mask[:, first:]
            for layer in self._cache.layers:
                layer.keys = layer.keys[:, :, first:]
                layer.values = layer.values[:, :, first:]

    def _drop_cancelled(self) -> None:
        slots = [i for i, r in enumerate(self._rows) if r.req.cancelled.is_set()]
        if slots:
            self._retire(slots, cancelled=True)

    def _count_cancelled(self) -> None:
        with self.metrics.lock:
            self.metrics.cancelled += 1

    def _fail_all(self, message: str) -> None:
        failed = {r.req.id: r.req for r in self._rows}
        self._rows = []
        self._cache = self._mask = self._pos = self._last = None
        with self._wake:
            self._running.clear()
        with self.metrics.lock:
            self.metrics.failed += len(failed)
        for req in failed.values():
            req.fail(message)
