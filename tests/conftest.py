"""Shared fixtures: a private runtime folder, and one real model process on the embedded model.

The session's model process is started exactly as a user would (`mathassist serve --model
embedded`), in a runtime folder of its own, so every end-to-end test talks to the real thing and
no test can find a process of the developer's.
"""

from __future__ import annotations

import multiprocessing.util
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from model_server.client import ClientError, serve_process

ROOT = Path(__file__).resolve().parent.parent
# a test that uses one of these, or lives in tests/e2e, needs a model process, a kernel or an editor:
# it is `slow`, and `make test-fast` (the unit tier) leaves it out
SLOW_FIXTURES = frozenset({"server", "use_server", "own_runtime", "lsp", "kernel", "tiny_checkpoint", "jupyter"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.parent.name == "e2e":
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _unit_tier_starts_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit tier (`-m "not slow"`) starts no process: a test that does must be marked slow."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it slow (the unit tier starts none)")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(multiprocessing.util, "spawnv_passfds", refuse)
    monkeypatch.setattr(os, "fork", refuse)


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
    """Start `mathassist serve` as a user would, and wait (through the client) until its model is loaded."""
    log_path = runtime_dir / "test-server.log"
    try:
        proc, endpoint = serve_process(runtime_dir, model, *extra, log_path=log_path)
    except ClientError as exc:
        raise RuntimeError(f"{exc}\n{log_path.read_text()}") from exc
    assert endpoint.token is not None and endpoint.model is not None and endpoint.pid is not None
    return proc, RunningServer(endpoint.url, endpoint.token, endpoint.model, endpoint.pid, runtime_dir)


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
def own_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty runtime folder of this test's own: the first client there spawns an embedded-model process."""
    monkeypatch.setenv("MATHASSIST_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("MATHASSIST_MODEL", "embedded")
    monkeypatch.setenv("MATHASSIST_IDLE_TIMEOUT", "60")
    monkeypatch.delenv("MATHASSIST_URL", raising=False)
    return tmp_path


@pytest.fixture
def use_server(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """Point discovery (MATHASSIST_RUNTIME_DIR) at the session's process."""
    monkeypatch.setenv("MATHASSIST_RUNTIME_DIR", str(server.runtime_dir))
    monkeypatch.delenv("MATHASSIST_URL", raising=False)
    return server
