"""Shared fixtures: a private runtime folder, and one real model process on the embedded model.

The session's model process is started exactly as a user would (`mathassist serve --model
embedded`), in a runtime folder of its own, so every end-to-end test talks to the real thing and
no test can find a process of the developer's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RunningServer:
    url: str
    token: str
    model: str
    pid: int
    runtime_dir: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def metric(self, name: str) -> float:
        """One value from /metrics."""
        text = httpx.get(f"{self.url}/metrics", headers=self.headers, timeout=10).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until nothing runs or waits (the engine retires rows between steps)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metric("mathassist_requests_running") == 0 and self.metric("mathassist_requests_waiting") == 0:
                return
            time.sleep(0.05)
        raise AssertionError("the engine still has requests in flight")


def start_server(runtime_dir: Path, *extra: str, model: str = "embedded") -> tuple[subprocess.Popen[bytes], RunningServer]:
    """Start `mathassist serve` and wait until /health says ok."""
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(runtime_dir)}
    log = open(runtime_dir / "test-server.log", "wb")  # noqa: SIM115 - the process writes it for its whole life
    proc = subprocess.Popen([sys.executable, "-m", "mathassist", "serve", "--model", model, *extra], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    info_file = runtime_dir / "server.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((runtime_dir / "test-server.log").read_text())
        if info_file.exists():
            info = json.loads(info_file.read_text())
            try:
                if httpx.get(f"{info['url']}/health", timeout=2).status_code == 200:
                    return proc, RunningServer(info["url"], info["token"], info["model"], info["pid"], runtime_dir)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the model process did not become ready in 120 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One embedded-model process for the whole session."""
    runtime = tmp_path_factory.mktemp("runtime")
    proc, running = start_server(runtime)
    yield running
    stop_server(proc)


@pytest.fixture
def use_server(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """Point discovery (MATHASSIST_RUNTIME_DIR) at the session's process."""
    monkeypatch.setenv("MATHASSIST_RUNTIME_DIR", str(server.runtime_dir))
    monkeypatch.delenv("MATHASSIST_URL", raising=False)
    return server
