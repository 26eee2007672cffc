"""The output step: from a step's logits to tokens, text, finish reasons and events.

Sampling (`sampler`, every row's parameters in a few tensor operations), incremental text
(`textstream`: each token decodes a few tokens' window, stop strings are searched in the new
text only) and the finishing rules (end of sequence, a stop string, max tokens) meet here, per
sequence, after the scheduler has said which logits row predicts each sequence's next token.
It changes no scheduling state: it marks sequences finished and returns the events; the engine
retires the finished before delivering, so a client that sees its last event finds nothing of
it in flight.
"""

from __future__ import annotations

import time
from typing import Any

from model_server.batch import Sequence
from model_server.metrics import Metrics
from model_server.requests import Event, Request
from model_server.sampler import RowSampling, sample_rows

__all__ = ["OutputStep"]

Deliveries = list[tuple[Request, list[Event]]]


class OutputStep:
    """Samples, detokenises and finishes sequences; counts generated tokens and gaps between them."""

    def __init__(self, eos_id: int, metrics: Metrics) -> None:
        self.eos_id, self.metrics = eos_id, metrics

    def process(self, work: list[tuple[Sequence, int]], logits: Any) -> tuple[list[Sequence], Deliveries]:
        """Sample one token for each sequence from its logits row; return the sequences that
        finished and each request's events."""
        import torch

        if not work:
            return [], []
        rows = logits[torch.tensor([i for _, i in work], device=logits.device)]
        seqs = [s for s, _ in work]
        tokens, logprobs = sample_rows(rows, [RowSampling(s.req.params, s.seed, len(s.ids)) for s in seqs])
        now = time.monotonic()
        gaps = [now - s.last_time for s in seqs if s.last_time]
        per_request: dict[str, tuple[Request, list[Event]]] = {}
        finished = []
        for seq, tok, lp in zip(seqs, tokens, logprobs, strict=True):
            seq.last_time = now
            ev = self._emit(seq, tok, lp)
            if ev is not None:
                per_request.setdefault(seq.req.id, (seq.req, []))[1].append(ev)
            if seq.finish:
                finished.append(seq)
        with self.metrics.lock:
            self.metrics.generated_tokens += len(seqs)
            for gap in gaps:
                self.metrics.per_token.observe(gap)
        return finished, list(per_request.values())

    def _emit(self, seq: Sequence, tok: int, lp: float) -> Event | None:
        """Take one token: its text (what is safe to send), and whether it ends the sequence."""
        seq.last = tok
        if tok == self.eos_id and not seq.req.ignore_eos:
            delta, _ = seq.stop.feed(seq.detok.flush(), final=True)
            seq.finish = "stop"
        else:
            seq.logprobs.append(lp)
            seq.logprob += lp
            delta, stopped = seq.stop.feed(seq.detok.add(tok))
            if stopped:
                seq.finish = "stop"
            elif len(seq.ids) >= seq.req.params.max_new_tokens:
                more, _ = seq.stop.feed(seq.detok.flush(), final=True)
                delta += more
                seq.finish = "length"
        if not delta and not seq.finish:
            return None
        tail = (tuple(seq.ids), tuple(seq.logprobs)) if seq.finish else ((), ())
        return Event(seq.index, delta, seq.finish, len(seq.ids), seq.logprob, *tail)
