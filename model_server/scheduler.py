"""The scheduler: who runs in the next step, where they live in the cache, and what they may reuse.

It owns the queue (the only state the event loop touches, behind one condition), the prompts
being prefilled (`Prefill`, one per staging slot) and the running sequences (`Sequence`, row
`i` in slot `staging + i`), and every decision about them, as nano-vllm's `Scheduler` does:

- **admission**: a queued request gets a staging slot when the batch has room for all its
  samples; its status goes WAITING -> PREFILLING -> RUNNING -> FINISHED/CANCELLED/FAILED;
- **room**: the slot cache grows for it; when the device has no memory, the saved prompts are
  dropped and the allocation tried again, then that request alone is refused;
- **prefix reuse** (`prefixes.PrefixReuse`): a prompt starts from the longest saved prefix of
  its tokens and is saved, piece by piece, for the prompts after it;
- **chunked prefill**: each step carries every running row's input, then pieces of the staged
  prompts: up to MAX_CHUNK tokens when nothing decodes, else a budget sized so the pieces add
  PIECES_SHARE of a decode step's time (measured, since it grows with the prompt's position), so
  a running stream's gap stays under twice its usual while a long document arrives;
- **speculation**: while the batch has at most SPECULATE_ROWS rows, each row feeds, after its
  last token, up to `speculative_tokens` drafts from its own text (`drafter`), never more than
  it may still generate; with more rows, checking drafts costs more than it saves;
- **retirement**: a finished or cancelled row leaves and the batch's last row moves into its slot
  (one row's cache moves, the others stay put); a cancelled prompt stops between chunks and keeps
  what it prefilled.
"""

from __future__ import annotations

import collections
import secrets
import threading
import time

from model_server.batch import Prefill, PromptWork, RowWork, Sequence, Step, StepResult, ToSample
from model_server.drafter import PromptLookup
from model_server.errors import QueueFull
from model_server.kvcache import SlotCache
from model_server.metrics import Metrics
from model_server.prefixes import PrefixReuse
from model_server.requests import Request, RequestStatus
from model_server.textstream import Detokenizer, StopText

__all__ = ["MAX_CHUNK", "MIN_CHUNK", "PIECES_SHARE", "STAGING", "Scheduler"]

MIN_CHUNK = 16  # prompt tokens per step while rows decode, at least (and the first guess)
MAX_CHUNK = 2048  # prompt tokens per step at most, which also bounds a piece's attention scores in memory
STAGING = 4  # prompts being prefilled at once (the cache's first slots; the batch's rows follow)
PIECES_SHARE = 0.75  # while rows decode, prompt pieces may add this much of a decode step's time to a step
# rows beyond which checking drafts costs more than it saves: on the embedded model on 2 CPU cores,
# 1-4 rows gained 1.1-1.3x, 6 about 1.0x, 8 and 16 lost 0.7-0.9x (bench/speculative.py)
SPECULATE_ROWS = 4


class Scheduler:
    """Admission, room, prefix reuse, drafts and retirement; `add`/`poke`/`close`/`stats` from any thread, the rest on the engine's."""

    def __init__(self, metrics: Metrics, tokenizer: object, device: str, max_batch: int, max_queue: int, prefix_bytes: int,
                 speculative_tokens: int = 0, speculate_rows: int = SPECULATE_ROWS) -> None:
        self.metrics, self.tokenizer, self.device = metrics, tokenizer, device
        self.max_batch, self.max_queue, self.prefix_bytes = max_batch, max_queue, prefix_bytes
        self.speculative_tokens = speculative_tokens  # drafts per row and step at most; 0: none
        self.speculate_rows = speculate_rows if speculative_tokens > 0 else 0
        self.sequences: list[Sequence] = []  # sequence i lives in cache slot STAGING + i
        self.prefills: list[Prefill] = []  # prefill j lives in cache slot j
        self.cache: SlotCache | None = None
        self.prefixes: PrefixReuse | None = None
        self._waiting: collections.deque[Request] = collections.deque()
        self._wake = threading.Condition()
        self._active = 0  # requests PREFILLING or RUNNING, for `stats` from other threads
        self._closed = False
        self._chunk = MIN_CHUNK  # prefill budget while rows decode; adapts to the decode step's time
        self._decode_s = 0.0  # moving average of a decode step's time

    # ---- any thread ------------------------------------------------------------------------
    def add(self, req: Request) -> None:
        """Queue a request, or raise QueueFull."""
        with self._wake:
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"{len(self._waiting)} requests are already waiting; retry in a moment")
            self._waiting.append(req)
            self._wake.notify()

    def poke(self) -> None:
        """Wake the engine thread (a request was cancelled)."""
        with self._wake:
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def stats(self) -> dict[str, int]:
        with self._wake:
            return {"running": self._active, "queued": len(self._waiting), "rows": len(self.sequences)}

    # ---- engine thread ---------------------------------------------------------------------
    def attach(self, cache: SlotCache) -> None:
        """Take the cache the runner made (on the engine thread) and keep saved prompts beside it."""
        self.cache = cache
        self.prefixes = PrefixReuse(cache, self.prefix_bytes)

    def wait_for_work(self) -> bool:
        """Block until something is queued, prefilling or running; False once closed."""
        with self._wake:
            while not self._closed and not self._waiting and not self.sequences and not self.prefills:
                self._wake.wait()
            return not self._closed

    def schedule(self) -> Step | None:
        """Admit what fits, let the cancelled go, and say what the next forward pass computes."""
        self._admit()
        self._drop_cancelled()
        if not self.sequences and not self.prefills:
            return None
        speculate = 0 < len(self.sequences) <= self.speculate_rows
        rows = [RowWork(STAGING + i, (s.last, *self._drafts(s, speculate)), s.position) for i, s in enumerate(self.sequences)]
        budget = self._chunk if rows else MAX_CHUNK
        prompts = []
        for j, job in enumerate(self.prefills):
            n = len(job.req.prompt_ids)
            size = min(n - job.done, budget)
            if size <= 0:
                break
            budget -= size
            prompts.append(PromptWork(j, job.done, job.req.prompt_ids[job.done : job.done + size], job.done + size == n))
        return Step(rows, prompts)

    def _drafts(self, seq: Sequence, speculate: bool) -> tuple[int, ...]:
        """The tokens `seq` guesses it will generate next, for the model to check in this step: never
        more than it may still generate after the one it is sure to get."""
        k = min(self.speculative_tokens, seq.req.params.max_new_tokens - len(seq.ids) - 1)
        if not speculate or seq.lookup is None or k <= 0:
            return ()
        return tuple(seq.lookup.propose(k))

    def _set(self, req: Request, status: RequestStatus) -> None:
        with self._wake:
            self._active += int(status.active) - int(req.status.active)
            req.status = status

    def _admit(self) -> None:
        """Move queued requests into free staging slots while the batch has room for their samples."""
        while len(self.prefills) < STAGING:
            with self._wake:
                staged = sum(j.req.params.samples for j in self.prefills)
                head = self._waiting[0] if self._waiting else None
                if head is None or len(self.sequences) + staged + head.params.samples > self.max_batch:
                    return
                req = self._waiting.popleft()
            if req.cancelled.is_set():
                self._finish(req, RequestStatus.CANCELLED)
                continue
            self._set(req, RequestStatus.PREFILLING)
            if self._make_room(req, STAGING + len(self.sequences) + staged + req.params.samples):
                self._stage(req)

    def _stage(self, req: Request) -> None:
        assert self.prefixes is not None
        slot = len(self.prefills)
        shared, buffers = self.prefixes.start(req.prompt_ids, slot)
        with self.metrics.lock:
            self.metrics.prompt_tokens_cached += shared
        self.prefills.append(Prefill(req, shared, buffers))

    def _make_room(self, req: Request, slots: int) -> bool:
        """Grow the cache for `req`; when the device has no memory for it, drop the saved prompts
        and try again, then refuse this request alone, saying what to change."""
        import torch

        assert self.cache is not None and self.prefixes is not None
        # every request's room, not only this one's: a cache that fits its use may shrink one way as it grows the other
        length = max(len(r.prompt_ids) + r.params.max_new_tokens for r in (req, *self._requests()))
        for attempt in range(2):
            try:
                self.cache.reserve(length, slots)
                return True
            except torch.OutOfMemoryError:
                if attempt == 0:
                    self.prefixes.clear()
                    torch.cuda.empty_cache()
        own = len(req.prompt_ids) + req.params.max_new_tokens
        self.fail([req], f"the {self.device} has no memory left for this request's cache ({own} tokens, "
                         f"{slots - STAGING} sequences in the batch); ask for fewer tokens or samples, or restart "
                         "the model process with a smaller --max-batch")
        return False

    def _requests(self) -> list[Request]:
        return [s.req for s in self.sequences] + [j.req for j in self.prefills]

    # ---- after the forward pass ------------------------------------------------------------
    def after_run(self, step: StepResult, work: Step) -> list[ToSample]:
        """Account for a step that ran: rows move on, pieces are saved, finished prompts join the batch.

        Returns every sequence to sample now with where its logits start in `step.logits` (new
        sequences of one prompt share their prompt's row). A row moves past every token it fed;
        the output step moves it back over the drafts the model did not confirm."""
        assert self.cache is not None and self.prefixes is not None
        self._adapt_chunk(work, step.seconds)
        out: list[ToSample] = []
        at = 0
        for seq, row in zip(self.sequences, work.rows, strict=True):
            seq.position += len(row.tokens)
            out.append(ToSample(seq, at, row.tokens[1:]))
            at += len(row.tokens)
        finished = []
        for job, piece in zip(self.prefills, work.prompts, strict=False):
            self.prefixes.save(piece.slot, job.buffers, piece.start, piece.start + len(piece.tokens))
            job.done += len(piece.tokens)
            if piece.last:
                self.prefixes.keep(job.req.prompt_ids, job.done, job.buffers)
                out += [ToSample(seq, at) for seq in self._join(piece.slot, job.req)]
                at += 1
                finished.append(piece.slot)
        self._remove_prefills(set(finished))
        return out

    def _adapt_chunk(self, work: Step, seconds: float) -> None:
        """Size the next prompt pieces from what this step cost on top of a plain decode step."""
        prefilled = sum(len(p.tokens) for p in work.prompts)
        with self.metrics.lock:
            self.metrics.prompt_tokens += prefilled
            self.metrics.busy_seconds += seconds
        if work.rows and not work.prompts:
            self._decode_s = seconds if self._decode_s == 0 else 0.8 * self._decode_s + 0.2 * seconds
        elif work.rows and prefilled == self._chunk and self._decode_s > 0:
            extra = max(seconds - self._decode_s, 1e-6)
            target = PIECES_SHARE * self._decode_s
            self._chunk = max(MIN_CHUNK, min(MAX_CHUNK, 2 * prefilled, int(prefilled * target / extra)))

    def _join(self, slot: int, req: Request) -> list[Sequence]:
        """Copy a prefilled prompt into one batch slot per sample; its sequences start after the prompt."""
        assert self.cache is not None
        p, n, base = req.params, len(req.prompt_ids), len(self.sequences)
        seed = p.seed if p.seed is not None else secrets.randbits(48)
        new = []
        for i in range(p.samples):
            self.cache.copy(slot, STAGING + base + i, n)
            seq = Sequence(req, i, seed + i, Detokenizer(self.tokenizer), StopText(p.stop), position=n)
            if self.speculative_tokens:
                seq.lookup = PromptLookup(req.prompt_ids, seq.ids)
            new.append(seq)
        self.sequences = self.sequences + new
        self._set(req, RequestStatus.RUNNING)
        with self.metrics.lock:
            self.metrics.ttft.observe(time.monotonic() - req.created)
        return new

    def prefill_failed(self, work: Step, exc: Exception) -> None:
        """Blame the prompts of a step that failed: they leave with the error, the rows carry on without them."""
        failed = [self.prefills[j].req for j in range(len(work.prompts))]
        self._remove_prefills(set(range(len(work.prompts))))
        self.fail(failed, f"the model failed on this prompt: {type(exc).__name__}: {exc}")

    # ---- leaving -------------------------------------------------------------------------------
    def retire(self, leaving: list[Sequence], cancelled: bool = False) -> None:
        """Sequences leave the batch; each gap is filled by the batch's last row. A request whose
        sequences are all gone is finished (cancelled, when they leave because it was)."""
        assert self.cache is not None
        gone = {id(s) for s in leaving}
        for i in sorted((i for i, s in enumerate(self.sequences) if id(s) in gone), reverse=True):
            last = len(self.sequences) - 1
            if i != last:
                self.cache.copy(STAGING + last, STAGING + i, self.sequences[last].position)
                self.sequences[i] = self.sequences[last]
            self.sequences.pop()
        still = {id(s.req) for s in self.sequences}
        done = {id(s.req): s.req for s in leaving if id(s.req) not in still}
        for req in done.values():
            self._finish(req, RequestStatus.CANCELLED if cancelled else RequestStatus.FINISHED)

    def _drop_cancelled(self) -> None:
        """Cancelled rows leave now; a cancelled prompt stops between chunks, and what it prefilled is kept."""
        gone = [s for s in self.sequences if s.req.cancelled.is_set()]
        if gone:
            self.retire(gone, cancelled=True)
        stopped = {i for i, j in enumerate(self.prefills) if j.req.cancelled.is_set()}
        if stopped:
            assert self.prefixes is not None
            for i in stopped:
                job = self.prefills[i]
                self.prefixes.keep(job.req.prompt_ids, job.done, job.buffers)
                self._finish(job.req, RequestStatus.CANCELLED)
            self._remove_prefills(stopped)

    def _remove_prefills(self, indexes: set[int]) -> None:
        """Drop prefills; the ones after them move down so staging stays contiguous."""
        assert self.cache is not None
        keep = [(old, j) for old, j in enumerate(self.prefills) if old not in indexes]
        for new, (old, job) in enumerate(keep):
            if old != new:
                self.cache.copy(old, new, job.done)
        self.prefills = [j for _, j in keep]

    def _finish(self, req: Request, status: RequestStatus) -> None:
        self._set(req, status)
        with self.metrics.lock:
            if status is RequestStatus.CANCELLED:
                self.metrics.cancelled += 1
            elif status is RequestStatus.FINISHED:
                self.metrics.finished += 1
            else:
                self.metrics.failed += 1

    def fail(self, reqs: list[Request], message: str) -> None:
        """These requests end with `message`; their readers get what came before, then the error."""
        for req in reqs:
            self._finish(req, RequestStatus.FAILED)
            req.fail(message)

    def fail_all(self, message: str) -> None:
        """A step failed as a whole: everything admitted fails (the engine carries on for later requests)."""
        reqs = list({id(r): r for r in self._requests()}.values())
        self.sequences, self.prefills = [], []
        self.fail(reqs, message)
