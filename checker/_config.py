"""Frozen configuration, passed by the caller (as Math-Verify takes its extraction configs).

`ReadConfig` says how LaTeX is read; it travels with each step to the worker, so two checkers
with different readings can share nothing by mistake, and it is part of every cache key.
`CheckerConfig` says how a `Checker` runs: time limits, workers, cache bound, an optional cache
file. Values are checked once, here, at construction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CheckerConfig", "ReadConfig"]


@dataclass(frozen=True)
class ReadConfig:
    """How the text of a step is read.

    `real`: the document is about real numbers (the usual case for notes and textbooks): `\\sqrt`,
    `\\log` and powers are real-valued, so a counterexample must be a real point; complex points
    still count as evidence of equality. `assumptions` are conditions taken as given for every step
    (`x > 0`), in LaTeX, on top of those the document states itself.
    """

    real: bool = True
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckerConfig:
    """How a `Checker` runs.

    `workers`: processes deciding steps (None: one less than the cores, at most 4, so an editor and
    the model keep a core; `mathassist check` passes every core). `cache_file`: a file that keeps
    verdicts across runs (None: memory only).
    """

    read: ReadConfig = field(default_factory=ReadConfig)
    timeout: float = 2.0
    suggestion_timeout: float = 1.0  # a suggestion waits on its check: undecided in a second, it is shown as unchecked
    workers: int | None = None
    cache_size: int = 16384
    cache_file: Path | None = None
    background: bool = True  # workers run at a lower CPU priority (an editor, a notebook); `mathassist check` is the foreground job

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.suggestion_timeout <= 0:
            raise ValueError("the checker's time limits must be above 0 seconds")
        if self.workers is not None and self.workers < 1:
            raise ValueError("the checker needs at least 1 worker")
        if self.cache_size < 1:
            raise ValueError("the checker's cache must hold at least 1 entry")

    def worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        return max(1, min(4, (os.cpu_count() or 2) - 1))
