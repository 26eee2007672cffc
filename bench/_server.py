"""Start a private model process for a benchmark and read its metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from model_server.client import Endpoint, wait_announced, wait_ready


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
        env = {**os.environ, "MATHASSIST_RUNTIME_DIR": tmp}
        proc = subprocess.Popen([sys.executable, "-m", "mathassist", "serve", "--model", model, *extra], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            info = wait_announced(proc, Path(tmp), 300)
            wait_ready(Endpoint(info.url, info.token, info.model, pid=info.pid), timeout=300)
            yield Server(info.url, info.token, Path(tmp), info.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
