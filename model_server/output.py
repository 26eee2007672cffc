"""The output step: from a step's logits to tokens, text, finish reasons and events.

Sampling (`sampler`, every row's parameters in a few tensor operations), incremental text
(`textstream`: each token decodes a few tokens' window, stop strings are searched in the new
text only) and the finishing rules (end of sequence, a stop string, max tokens) meet here, per
sequence, after the scheduler has said which logits rows belong to each sequence. It marks
sequences finished and returns the events; the engine retires the finished before delivering,
so a client that sees its last event finds nothing of it in flight.

**Verifying drafts, losslessly.** A sequence that fed drafts `d1..dk` after its last token has
k + 1 logits rows; row j predicts the token after `d_j`. Each row is sampled exactly as a plain
step would sample that position: from the model's processed distribution (temperature, top-k,
top-p), with the noise of the seeded sampler for that position (`sampler`: a pure function of
seed, position and token id). Tokens are taken in order while each equals the draft after it;
the first that differs is kept too, and the rest is dropped. Every token taken is therefore the
one plain decoding would have produced at that position, given the same tokens before it:
greedy output is token for token the same, and a seed reproduces a sample, with or without
speculation. The drafts the model did not confirm wrote keys and values into the slot; the
sequence's position moves back over them, and the next step writes over them.
"""

from __future__ import annotations

import time
from typing import Any

from model_server.batch import Sequence, ToSample
from model_server.metrics import Metrics
from model_server.requests import Event, Request
from model_server.sampler import RowSampling, sample_rows

__all__ = ["OutputStep"]

Deliveries = list[tuple[Request, list[Event]]]


class OutputStep:
    """Samples, verifies drafts, detokenises and finishes sequences; counts tokens and the gaps between them."""

    def __init__(self, eos_id: int, metrics: Metrics) -> None:
        self.eos_id, self.metrics = eos_id, metrics

    def process(self, work: list[ToSample], logits: Any) -> tuple[list[Sequence], Deliveries]:
        """Take each sequence's new tokens from its logits rows; return the sequences that finished
        and each request's events (one per sequence and step, with all the text it settled)."""
        import torch

        if not work:
            return [], []
        index = [w.row + j for w in work for j in range(len(w.drafts) + 1)]
        sampling = [RowSampling(w.seq.req.params, w.seq.seed, len(w.seq.ids) + j) for w in work for j in range(len(w.drafts) + 1)]
        tokens, logprobs = sample_rows(logits[torch.tensor(index, device=logits.device)], sampling)
        now = time.monotonic()
        per_request: dict[str, tuple[Request, list[Event]]] = {}
        finished: list[Sequence] = []
        gaps: list[float] = []
        at = drafted = accepted = generated = 0
        for w in work:
            seq, k = w.seq, len(w.drafts)
            taken, good, text = self._accept(seq, w.drafts, tokens[at : at + k + 1], logprobs[at : at + k + 1])
            at += k + 1
            seq.position -= k - good  # back over the drafts not confirmed: their keys and values are written over next
            drafted, accepted, generated = drafted + k, accepted + good, generated + taken
            if seq.last_time:  # tokens taken together arrive together: they share the step's gap
                gaps += [(now - seq.last_time) / taken] * taken
            seq.last_time = now
            if text or seq.finish:
                tail = (tuple(seq.ids), tuple(seq.logprobs)) if seq.finish else ((), ())
                ev = Event(seq.index, text, seq.finish, len(seq.ids), seq.logprob, *tail)
                per_request.setdefault(seq.req.id, (seq.req, []))[1].append(ev)
            if seq.finish:
                finished.append(seq)
        with self.metrics.lock:
            self.metrics.generated_tokens += generated
            self.metrics.draft_tokens += drafted
            self.metrics.accepted_tokens += accepted
            for gap in gaps:
                self.metrics.per_token.observe(gap)
        return finished, list(per_request.values())

    def _accept(self, seq: Sequence, drafts: tuple[int, ...], tokens: list[int], logprobs: list[float]) -> tuple[int, int, str]:
        """Take sampled tokens in order while each confirms the draft after it (and the first that
        does not); stop at the end of the sequence. Returns tokens taken, drafts confirmed, text."""
        text, good = "", 0
        for j, (tok, lp) in enumerate(zip(tokens, logprobs, strict=True)):
            text += self._take(seq, tok, lp)
            hit = j < len(drafts) and tok == drafts[j]
            good += hit
            if seq.finish or not hit:
                return j + 1, good, text
        return len(tokens), good, text

    def _take(self, seq: Sequence, tok: int, lp: float) -> str:
        """One token: the text it lets us send now, and (on `seq`) whether it ends the sequence."""
        seq.last = tok
        if tok == self.eos_id and not seq.req.ignore_eos:
            delta, _ = seq.stop.feed(seq.detok.flush(), final=True)
            seq.finish = "stop"
            return delta
        seq.logprobs.append(lp)
        seq.logprob += lp
        delta, stopped = seq.stop.feed(seq.detok.add(tok))
        if stopped:
            seq.finish = "stop"
        elif len(seq.ids) >= seq.req.params.max_new_tokens:
            more, _ = seq.stop.feed(seq.detok.flush(), final=True)
            delta += more
            seq.finish = "length"
        return delta
