"""Start a private model process for a benchmark and read its metrics (the test suite's own helpers)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import RunningServer, start_server, stop_server

Server = RunningServer  # what the benchmarks call it

__all__ = ["Server", "model_process"]


@contextmanager
def model_process(model: str = "embedded", *extra: str) -> Iterator[Server]:
    """`mathassist serve` in a temporary runtime folder, ready when yielded."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, server = start_server(Path(tmp), *extra, model=model)
        try:
            yield server
        finally:
            stop_server(proc)
