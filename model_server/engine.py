"""The batching engine: one thread, one running batch, requests join and leave between steps.

Why our own decode loop rather than transformers' continuous batching: that one (5.x) killed its
worker on temperature 0, checks no ranges or lengths, has no stop strings, and starves under
concurrency. This loop is small and every rule is ours, and it does what vLLM and SGLang do for
theirs. It is split as nano-vllm splits its engine; `Engine.step` is schedule, run, postprocess:

- `scheduler.Scheduler`: admission, room in the cache, prefix reuse (a new prompt starts from the
  longest saved prefix of its tokens, so a keystroke at the end of a long document prefills only
  what changed), chunked prefill (running streams keep flowing while a long document arrives),
  and retirement; a request's state is its `RequestStatus`;
- `kvcache.SlotCache`: the memory: each row of the batch lives in a slot of its own, written in
  place, so a step costs its attention and never a copy of the batch's cache;
- `runner.ModelRunner`: the tensors: every step is one packed forward pass (`packed`) over each
  row's next token followed by pieces of new prompts, and on CUDA a decode-only step replays a
  captured graph (`graphs`);
- `output.OutputStep`: sampling (`sampler`, every row's parameters vectorised), incremental text
  and stop strings (`textstream`), finish reasons and events;
- speculative decoding by prompt lookup: the scheduler lets each row feed, after its last token,
  the tokens that followed the last occurrence of its last few tokens in its prompt or output
  (`drafter`), while the batch is small enough for that to pay; the runner checks them in the
  same forward pass, and the output step keeps the ones the model confirms, losslessly;
- `requests`: what the submitter holds; results cross to asyncio through one
  `loop.call_soon_threadsafe` per event loop per step.

torch runs in the engine thread only; the HTTP event loop never waits on a forward pass.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from mathcore.sampling import MAX_SAMPLES, SamplingParams
from model_server.drafter import CPU_SPECULATIVE_TOKENS
from model_server.errors import PromptTooLong, RequestError
from model_server.loading import LoadedModel
from model_server.metrics import Metrics
from model_server.output import OutputStep
from model_server.requests import Request, deliver
from model_server.runner import ModelRunner
from model_server.scheduler import STAGING, Scheduler

__all__ = ["Engine", "default_prefix_cache_mb", "default_speculative_tokens"]

log = logging.getLogger(__name__)


class Engine:
    """Owns the model; `submit` from the event loop, everything else runs on the engine thread."""

    def __init__(self, loaded: LoadedModel, max_batch: int = MAX_SAMPLES, max_queue: int = 64, prefix_cache_mb: int | None = None,
                 cache_follows_use: bool | None = None, speculative_tokens: int | None = None) -> None:
        self.loaded = loaded
        # a GPU copies a resized cache in milliseconds and is short of memory: slots follow the rows in use
        self.cache_follows_use = loaded.device != "cpu" if cache_follows_use is None else cache_follows_use
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.prefix_cache_mb = prefix_cache_mb if prefix_cache_mb is not None else default_prefix_cache_mb(loaded.device)
        self.metrics = Metrics()
        self.eos_id = loaded.tokenizer.eos_token_id
        self.speculative_tokens = default_speculative_tokens(loaded.device) if speculative_tokens is None else speculative_tokens
        self.scheduler = Scheduler(self.metrics, loaded.tokenizer, loaded.device, max_batch, max_queue, self.prefix_cache_mb * 2**20,
                                   self.speculative_tokens)
        self.runner = ModelRunner(loaded, max_batch + STAGING, STAGING, fit=self.cache_follows_use)
        self.output = OutputStep(self.eos_id, self.metrics)
        self._thread = threading.Thread(target=self._serve, name="mathassist-engine", daemon=True)

    # ---- event-loop side -------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.scheduler.close()
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
        self.scheduler.add(req)
        return req

    def cancel(self, req: Request) -> None:
        """Abandon a request: it leaves the queue, its prefill or the batch before the next step."""
        if not req.cancelled.is_set():
            req.cancelled.set()
            self.scheduler.poke()

    def stats(self) -> dict[str, int]:
        return self.scheduler.stats()

    def render_metrics(self) -> str:
        s = self.stats()
        return self.metrics.render(s["running"], s["queued"], s["rows"])

    # ---- engine thread ----------------------------------------------------------------
    def _serve(self) -> None:
        """The engine thread's body: make the cache, then step while there is work, until stopped."""
        import torch

        with torch.inference_mode():
            self.scheduler.attach(self.runner.start())
            while self.scheduler.wait_for_work():
                try:
                    self.step()
                except Exception as exc:  # a failed step must not kill the engine for later requests
                    log.exception("engine step failed")
                    self.scheduler.fail_all(f"the model failed: {type(exc).__name__}: {exc}")

    def step(self) -> None:
        """Schedule, run, postprocess: one forward pass and everything it settles."""
        work = self.scheduler.schedule()
        if work is None:
            return
        try:
            result = self.runner.run(work)
        except Exception as exc:
            if not work.prompts:
                raise  # a failed decode step fails the batch (`_serve` reports it)
            log.exception("prefill failed")  # blame the new prompts: the rows carry on without them
            self.scheduler.prefill_failed(work, exc)
            return
        sampled = self.scheduler.after_run(result, work)
        finished, events = self.output.process(sampled, result.logits)
        if finished:  # retire first, so a client that sees its last event finds nothing in flight
            self.scheduler.retire(finished)
        deliver(events)


def default_prefix_cache_mb(device: str) -> int:
    """Room for recent prompts' caches: a few long documents of a 7B model on a GPU, many of a small one on a CPU."""
    return 4096 if device.startswith("cuda") else 512


def default_speculative_tokens(device: str) -> int:
    """Drafts per step when `--speculative-tokens` is not given.

    On a CPU, checking a few more tokens in a step costs little beside the step itself, and
    prompt lookup pays for itself on derivations and solutions (bench/speculative.py). On CUDA,
    a step that checks drafts runs eagerly while a plain decode step replays a CUDA graph (several
    times faster for a 7B model), so speculation is off there until verification steps are
    captured too; `--speculative-tokens N` still turns it on.
    """
    return 0 if device.startswith("cuda") else CPU_SPECULATIVE_TOKENS
