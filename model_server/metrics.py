"""Counters and histograms for `/metrics`, in the Prometheus text format.

Small and dependency-free: the engine thread writes, the HTTP thread reads, one lock guards both.
Metric names follow vLLM's where one exists, with the `mathassist_` prefix.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

__all__ = ["Histogram", "Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Histogram:
    """A cumulative histogram with fixed bucket bounds (seconds)."""

    buckets: tuple[float, ...] = _LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(_LATENCY_BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, c in zip(self.buckets, self.counts, strict=False):
            running += c
            out.append(f'{name}_bucket{{le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.n}')
        out += [f"{name}_sum {self.total:.6f}", f"{name}_count {self.n}"]
        return out


class Metrics:
    """Everything `/metrics` reports; gauges are read from the engine when rendered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.finished = 0
        self.cancelled = 0
        self.failed = 0
        self.prompt_tokens = 0
        self.prompt_tokens_cached = 0
        self.generated_tokens = 0
        self.draft_tokens = 0
        self.accepted_tokens = 0
        self.busy_seconds = 0.0
        self.ttft = Histogram()
        self.per_token = Histogram()

    def render(self, running: int, queued: int, batch_rows: int) -> str:
        """The Prometheus exposition text."""
        with self.lock:
            rows = [
                ("mathassist_requests_running", "gauge", "Requests being generated now.", running),
                ("mathassist_requests_waiting", "gauge", "Requests queued for a place in the batch.", queued),
                ("mathassist_batch_rows", "gauge", "Sequences in the running batch.", batch_rows),
                ("mathassist_requests_finished_total", "counter", "Requests that completed.", self.finished),
                ("mathassist_requests_cancelled_total", "counter", "Requests cancelled or abandoned by their client.", self.cancelled),
                ("mathassist_requests_failed_total", "counter", "Requests that failed inside the engine.", self.failed),
                ("mathassist_prompt_tokens_total", "counter", "Prompt tokens prefilled.", self.prompt_tokens),
                ("mathassist_prompt_tokens_cached_total", "counter", "Prompt tokens taken from the prefix cache instead.",
                 self.prompt_tokens_cached),
                ("mathassist_generation_tokens_total", "counter", "Tokens generated.", self.generated_tokens),
                ("mathassist_spec_decode_num_draft_tokens_total", "counter", "Draft tokens proposed from the text at hand and checked.",
                 self.draft_tokens),
                ("mathassist_spec_decode_num_accepted_tokens_total", "counter", "Draft tokens the model confirmed.", self.accepted_tokens),
                ("mathassist_engine_busy_seconds_total", "counter", "Seconds the model spent computing.", round(self.busy_seconds, 6)),
            ]
            out: list[str] = []
            for name, kind, help_, value in rows:
                out += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {value}"]
            for name, help_, hist in (
                ("mathassist_time_to_first_token_seconds", "Time from arrival to the first token.", self.ttft),
                ("mathassist_time_per_output_token_seconds", "Time between consecutive tokens of a sequence.", self.per_token),
            ):
                out += [f"# HELP {name} {help_}", f"# TYPE {name} histogram", *hist.lines(name)]
        return "\n".join(out) + "\n"
