"""Start a private model process for a benchmark and read its metrics."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from model_server.client import serve_process


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    runtime_dir: Path
    pid: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def metric(self, name: str) -> float:
        for line in httpx.get(f"{self.url}/metrics", headers=self.headers, timeout=10).text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)


@contextmanager
def model_process(model: str = "embedded", *extra: str) -> Iterator[Server]:
    """`mathassist serve` in a temporary runtime folder, ready when yielded."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = serve_process(Path(tmp), model, *extra, timeout=300)
        assert endpoint.token is not None and endpoint.pid is not None
        try:
            yield Server(endpoint.url, endpoint.token, Path(tmp), endpoint.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
