"""The batching engine: one thread, one running batch, requests join and leave between steps.

Why our own decode loop rather than transformers' continuous batching: that one (5.x) killed its
worker on temperature 0, checks no ranges or lengths, has no stop strings, and starves under
concurrency. This loop is small and every rule is ours, and it
does what vLLM and SGLang do for theirs:

- **a preallocated cache** (`kvcache.SlotCache`): each row of the batch lives in a slot of its
  own, each decode step writes one column per row in place and attends under a mask, so a step
  costs its attention and never a copy of the batch's cache; a row that leaves is replaced by the
  last one;
- **chunked prefill in packed steps** (`packed`): every step is one forward pass over one
  sequence of tokens, each running row's next token followed by pieces of new prompts (prefilled
  in staging slots; pieces sized to add three quarters of a decode step while rows decode, up
  to 2,048 tokens when none does), so running streams keep flowing while a long document arrives
  and the model's fixed cost per pass (on a GPU, reading the weights) is paid once; a prompt
  prefilled to its end moves into the batch, once per sample;
- **prefix reuse** (`kvcache.PrefixStore`): every prefilled prompt's cache is kept (LRU, bounded
  in bytes) and a new prompt starts from the longest stored prefix of its tokens, so a keystroke
  at the end of a long document prefills only what changed;
- **vectorised sampling** (`sampler`): every row's temperature, top-k, top-p and seed in a few
  tensor operations; **incremental text** (`textstream`): each token decodes a few tokens' window
  and stop strings are searched in the new text only;
- after each step, rows that finished (EOS, stop string, max tokens) or whose request was
  cancelled leave the batch; a cancelled prompt stops between chunks and keeps what it prefilled;
- results cross to asyncio through `loop.call_soon_threadsafe`, one call per event loop per step
  (each call wakes the loop's thread, which then competes for the GIL with this one).

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
from model_server.graphs import DecodeGraphs, graphs_enabled
from model_server.kvcache import PrefixStore, SlotCache, copy_prefix
from model_server.loading import LoadedModel
from model_server.metrics import Metrics
from model_server.packed import Piece, Plan, decode_mask, use_packed_attention
from model_server.sampler import RowSampling, sample_rows
from model_server.textstream import Detokenizer, StopText

__all__ = ["Engine", "Event", "Request", "default_prefix_cache_mb", "deliver"]

log = logging.getLogger(__name__)

MIN_CHUNK = 16  # prompt tokens per step while rows decode, at least (and the first guess)
MAX_CHUNK = 2048  # prompt tokens per step at most, which also bounds a piece's attention scores in memory
MIN_KEPT = 16  # prompts shorter than this are not worth keeping for reuse
EDGE = 2  # a prompt that extends a saved one but for its last tokens (re-tokenised at the edit) takes it over
STAGING = 4  # prompts being prefilled at once (the cache's first slots; the batch's rows follow)
PIECES_SHARE = 0.75  # while rows decode, prompt pieces may add this much of a decode step's time to a step


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
    """One sequence of the running batch; row `i` of `Engine._rows` lives in cache slot `STAGING + i`."""

    req: Request
    index: int
    seed: int
    detok: Detokenizer
    stop: StopText
    position: int  # where the next input token (`last`) is written
    last: int = 0
    logprobs: list[float] = field(default_factory=list)
    logprob: float = 0.0
    last_time: float = 0.0

    @property
    def ids(self) -> list[int]:
        return self.detok.ids


@dataclass(eq=False)
class _Prefill:
    """A request whose prompt is being prefilled, chunk by chunk, in a staging slot."""

    req: Request
    done: int  # prompt tokens already in the staging slot (reused ones included)
    buffers: list[tuple[Any, Any]] | None = None  # its saved cache, filled piece by piece (None: not kept)


class Engine:
    """Owns the model; `submit` from the event loop, everything else runs on the engine thread."""

    def __init__(self, loaded: LoadedModel, max_batch: int = 16, max_queue: int = 64, prefix_cache_mb: int | None = None,
                 cache_follows_use: bool | None = None) -> None:
        self.loaded = loaded
        # a GPU copies a resized cache in milliseconds and is short of memory: slots follow the rows
        # in use; a CPU is the reverse (growing 8 slots of 4,096 positions stalls every stream for
        # 0.4 s here): all slots from the start, only their length grows
        self.cache_follows_use = loaded.device != "cpu" if cache_follows_use is None else cache_follows_use
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.prefix_cache_mb = prefix_cache_mb if prefix_cache_mb is not None else default_prefix_cache_mb(loaded.device)
        self.metrics = Metrics()
        self._pending: collections.deque[Request] = collections.deque()
        self._wake = threading.Condition()
        self._rows: list[_Row] = []
        self._jobs: list[_Prefill] = []  # job j is prefilled in cache slot j
        self._running: set[str] = set()
        self._cache: SlotCache | None = None
        self._graphs: DecodeGraphs | None = None  # CUDA only: replayed decode steps
        self._store: PrefixStore | None = None
        self._chunk = MIN_CHUNK  # prefill chunk while others decode; adapts to the decode step's time
        self._decode_s = 0.0  # moving average of a decode step's time
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
        """Abandon a request: it leaves the queue, its prefill or the batch before the next step."""
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
            model = self.loaded.model
            dtype = next(model.parameters()).dtype
            use_packed_attention(model)
            slots = self.max_batch + STAGING
            first = min(2 * STAGING, slots) if self.cache_follows_use else slots
            self._cache = SlotCache(model.config, first, dtype, self.loaded.device, self.loaded.context_length,
                                    max_slots=slots, fit=self.cache_follows_use)
            self._store = PrefixStore(self.prefix_cache_mb * 2**20, self._cache.bytes_per_token)
            if graphs_enabled(self.loaded.device):
                self._graphs = DecodeGraphs(model, self._cache, STAGING)
            while True:
                with self._wake:
                    while not self._stopping and not self._pending and not self._rows and not self._jobs:
                        self._wake.wait()
                    if self._stopping:
                        return
                try:
                    self._admit()
                    self._drop_cancelled()
                    self._forward()
                except Exception as exc:  # a failed step must not kill the engine for later requests
                    log.exception("engine step failed")
                    self._fail_all(f"the model failed: {type(exc).__name__}: {exc}")

    def _admit(self) -> None:
        """Move queued requests into free staging slots while the batch has room for their samples."""
        assert self._cache is not None and self._store is not None
        while len(self._jobs) < STAGING:
            with self._wake:
                waiting = sum(j.req.params.samples for j in self._jobs)
                if not self._pending or len(self._rows) + waiting + self._pending[0].params.samples > self.max_batch:
                    return
                req = self._pending.popleft()
                if req.cancelled.is_set():
                    self._count_cancelled()
                    continue
                self._running.add(req.id)
            n, slot = len(req.prompt_ids), len(self._jobs)
            # every request's room, not only this one's: a cache that fits its use may shrink one way as it grows the other
            length = max(len(x.prompt_ids) + x.params.max_new_tokens for x in (req, *(r.req for r in self._rows), *(j.req for j in self._jobs)))
            if not self._make_room(req, length, STAGING + len(self._rows) + waiting + req.params.samples):
                continue
            key, shared = self._store.lookup(req.prompt_ids)
            shared = max(0, min(shared, n - 1))  # the last prompt token is always computed: its logits start the answer
            source = self._store.kv(key) if key is not None and shared > 0 else None
            buffers = None  # where this prompt's cache is saved, piece by piece, for the prompts after it
            if n >= MIN_KEPT and self._store.fits(n):
                if source is not None and key is not None and shared >= self._store.length(key) - EDGE \
                        and self._store.capacity(key) >= n:
                    buffers = source = self._store.take(key)  # it extends that prompt: write on in place
                else:
                    buffers = self._cache.buffers(self._store.capacity_for(n))
                    if source is not None:
                        copy_prefix(source, buffers, shared)
            if source is not None:
                self._cache.load(slot, source, shared)
            with self.metrics.lock:
                self.metrics.prompt_tokens_cached += shared
            self._jobs.append(_Prefill(req, shared, buffers))

    def _make_room(self, req: Request, length: int, slots: int) -> bool:
        """Grow the cache for `req`; when the device has no memory for it, drop the saved prompts
        and try again, then refuse this request alone, saying what to change."""
        import torch

        assert self._cache is not None and self._store is not None
        for attempt in range(2):
            try:
                self._cache.reserve(length, slots)
                return True
            except torch.OutOfMemoryError:
                if attempt == 0:
                    self._store.clear()
                    torch.cuda.empty_cache()
        own = len(req.prompt_ids) + req.params.max_new_tokens
        self._fail_requests([req], f"the {self.loaded.device} has no memory left for this request's cache ({own} tokens, "
                                   f"{slots - STAGING} sequences in the batch); ask for fewer tokens or samples, or restart "
                                   "the model process with a smaller --max-batch")
        return False

    def _forward(self) -> None:
        """One packed forward pass: every running row's next token, then pieces of the staged prompts.

        Nothing decoding: prompts go in pieces of up to MAX_CHUNK tokens. Rows decoding: the
        pieces get a token budget sized so they add PIECES_SHARE of a decode step to the step, so
        a running stream's gap between tokens stays under twice its usual while a long document
        arrives (the budget follows the measured cost, which grows with the prompt's position).
        """
        import torch

        self._drop_cancelled_jobs()
        cache, device = self._cache, self.loaded.device
        assert cache is not None
        rows, n = self._rows, len(self._rows)
        if not n and not self._jobs:
            return
        budget = self._chunk if n else MAX_CHUNK
        tokens = [r.last for r in rows]
        slots = list(range(STAGING, STAGING + n))
        positions = [r.position for r in rows]
        pieces: list[Piece] = []
        for j, job in enumerate(self._jobs):
            size = min(len(job.req.prompt_ids) - job.done, budget)
            if size <= 0:
                break
            budget -= size
            slot, start, end = j, job.done, job.done + size
            mask = None
            if start > 0:  # causal, shifted by what the slot already holds
                mask = (torch.arange(end, device=device)[None, :] <= torch.arange(start, end, device=device)[:, None])[None, None]
            pieces.append(Piece(slot, len(tokens), start, size, mask))
            tokens += job.req.prompt_ids[start:end]
            slots += [slot] * size
            positions += range(start, end)
        finishing = [(j, p) for j, p in enumerate(pieces) if self._jobs[j].done + p.length == len(self._jobs[j].req.prompt_ids)]
        keep = list(range(n)) + [p.offset + p.length - 1 for _, p in finishing]
        t0 = time.monotonic()
        # a decode-only step on CUDA replays a captured graph (`graphs`); anything else runs eagerly
        logits = self._graphs.step(tokens, positions) if self._graphs is not None and n and not pieces else None
        try:
            if logits is None:
                kv_length = max((r.position for r in rows), default=0) + 1
                pos_t = torch.tensor(positions, device=device)
                row_mask = decode_mask(pos_t[:n], kv_length) if n else None
                plan = Plan(STAGING, n, kv_length, row_mask, tuple(pieces))
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
                logits = out.logits[0]
            logits = logits.float()
        except Exception as exc:
            if not pieces:
                raise  # a failed decode step fails the batch (the loop reports it)
            log.exception("prefill failed")  # blame the new prompts: the rows carry on without them
            failed = [self._jobs[j].req for j in range(len(pieces))]
            self._remove_jobs(set(range(len(pieces))))
            self._fail_requests(failed, f"the model failed on this prompt: {type(exc).__name__}: {exc}")
            return
        spent = time.monotonic() - t0
        prefilled = sum(p.length for p in pieces)
        with self.metrics.lock:
            self.metrics.prompt_tokens += prefilled
            self.metrics.busy_seconds += spent
        if n and not pieces:
            self._decode_s = spent if self._decode_s == 0 else 0.8 * self._decode_s + 0.2 * spent
        elif n and prefilled == self._chunk and self._decode_s > 0:
            extra = max(spent - self._decode_s, 1e-6)  # what the pieces cost on top of the decode step
            target = PIECES_SHARE * self._decode_s
            self._chunk = max(MIN_CHUNK, min(MAX_CHUNK, 2 * prefilled, int(prefilled * target / extra)))
        for r in rows:
            r.position += 1
        for job, p in zip(self._jobs, pieces, strict=False):
            if job.buffers is not None:  # saved as it goes: no copy of the whole prompt when it finishes
                cache.store(p.slot, job.buffers, p.start, p.start + p.length)
            job.done += p.length
        if n:
            self._advance(rows, logits[:n], 0)
        for k, (j, p) in enumerate(finishing):
            self._keep_prefix(self._jobs[j])
            self._join(p.slot, self._jobs[j].req, logits[n + k][None])
        self._remove_jobs({j for j, _ in finishing})

    def _remove_jobs(self, indexes: set[int]) -> None:
        """Drop staged jobs; the ones after them move down so staging stays contiguous."""
        assert self._cache is not None
        keep = [(old, j) for old, j in enumerate(self._jobs) if old not in indexes]
        for new, (old, job) in enumerate(keep):
            if old != new:
                self._cache.copy(old, new, job.done)
        self._jobs = [j for _, j in keep]

    def _drop_cancelled_jobs(self) -> None:
        """A cancelled prompt stops between chunks; what it prefilled is kept for the next keystroke."""
        gone = {i for i, j in enumerate(self._jobs) if j.req.cancelled.is_set()}
        if not gone:
            return
        for i in gone:
            self._keep_prefix(self._jobs[i])
        self._finish_requests({self._jobs[i].req.id for i in gone}, cancelled=True)
        self._remove_jobs(gone)

    def _keep_prefix(self, job: _Prefill) -> None:
        """Remember what a prompt prefilled (all of it, or up to its cancellation) for prompts that start the same way."""
        assert self._store is not None
        if job.buffers is not None and job.done >= MIN_KEPT:
            self._store.add(job.req.prompt_ids[: job.done], job.buffers)

    def _join(self, slot: int, req: Request, logits: Any) -> None:
        """Move a prefilled prompt into `samples` batch slots and sample each one's first token."""
        assert self._cache is not None
        p, n = req.params, len(req.prompt_ids)
        base = len(self._rows)
        seed = p.seed if p.seed is not None else secrets.randbits(48)
        rows = []
        for i in range(p.samples):
            self._cache.copy(slot, STAGING + base + i, n)
            rows.append(_Row(req, i, seed + i, Detokenizer(self.loaded.tokenizer), StopText(p.stop), position=n))
        self._rows = self._rows + rows
        with self.metrics.lock:
            self.metrics.ttft.observe(time.monotonic() - req.created)
        self._advance(rows, logits.expand(p.samples, -1), base)

    def _advance(self, rows: list[_Row], logits: Any, base: int) -> None:
        """Sample one token for each row (rows are batch slots `base...`), send text, retire the finished."""
        tokens, logprobs = sample_rows(logits, [RowSampling(r.req.params, r.seed, len(r.ids)) for r in rows])
        now = time.monotonic()
        per_request: dict[str, tuple[Request, list[Event]]] = {}
        done: list[int] = []
        gaps = [now - r.last_time for r in rows if r.last_time]
        for slot, (row, tok, lp) in enumerate(zip(rows, tokens, logprobs, strict=True), start=base):
            row.last_time = now
            row.last = tok
            finish = None
            if tok == self.eos_id and not row.req.ignore_eos:
                delta, _ = row.stop.feed(row.detok.flush(), final=True)
                finish = "stop"
            else:
                row.logprobs.append(lp)
                row.logprob += lp
                delta, stopped = row.stop.feed(row.detok.add(tok))
                if stopped:
                    finish = "stop"
                elif len(row.ids) >= row.req.params.max_new_tokens:
                    more, _ = row.stop.feed(row.detok.flush(), final=True)
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
        deliver(list(per_request.values()))

    def _retire(self, slots: list[int], cancelled: bool = False) -> None:
        """Rows at `slots` leave; each gap is filled by the batch's last row (one row's cache moves)."""
        assert self._cache is not None
        leaving = {self._rows[i].req.id for i in slots}
        for slot in sorted(set(slots), reverse=True):
            last = len(self._rows) - 1
            if slot != last:
                self._cache.copy(STAGING + last, STAGING + slot, self._rows[last].position)
                self._rows[slot] = self._rows[last]
            self._rows.pop()
        still = {r.req.id for r in self._rows}
        self._finish_requests(leaving - still, cancelled)

    def _finish_requests(self, ids: set[str], cancelled: bool) -> None:
        with self._wake:
            self._running -= ids
        with self.metrics.lock:
            if cancelled:
                self.metrics.cancelled += len(ids)
            else:
                self.metrics.finished += len(ids)

    def _drop_cancelled(self) -> None:
        slots = [i for i, r in enumerate(self._rows) if r.req.cancelled.is_set()]
        if slots:
            self._retire(slots, cancelled=True)

    def _count_cancelled(self) -> None:
        with self.metrics.lock:
            self.metrics.cancelled += 1

    def _fail_all(self, message: str) -> None:
        failed = {r.req.id: r.req for r in self._rows}
        failed.update((j.req.id, j.req) for j in self._jobs)
        self._rows, self._jobs = [], []
        self._fail_requests(list(failed.values()), message)

    def _fail_requests(self, reqs: list[Request], message: str) -> None:
        with self._wake:
            self._running -= {r.id for r in reqs}
        with self.metrics.lock:
            self.metrics.failed += len(reqs)
        for req in reqs:
            req.fail(message)


def deliver(batch: list[tuple[Request, list[Event]]]) -> None:
    """Hand each request its events (from the engine thread) with one wake-up per event loop, not one per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Request, list[Event]]]] = {}
    for req, events in batch:
        by_loop.setdefault(req._loop, []).append((req, events))
    for loop, items in by_loop.items():
        loop.call_soon_threadsafe(_push_all, items)


def _push_all(items: list[tuple[Request, list[Event]]]) -> None:
    for req, events in items:
        req._push(events)


def default_prefix_cache_mb(device: str) -> int:
    """Room for recent prompts' caches: a few long documents of a 7B model on a GPU, many of a small one on a CPU."""
    return 4096 if device.startswith("cuda") else 512
