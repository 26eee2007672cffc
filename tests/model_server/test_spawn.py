"""Discovery and spawning: simultaneous clients make one process; the files are private."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model_server.client import Client, ServerUnavailable, find_endpoint
from model_server.discovery import pid_alive

CONNECT = "from model_server.client import Client; c = Client.connect(); print(c.endpoint.pid, c.model(), flush=True)"


@pytest.mark.slow
def test_six_simultaneous_clients_leave_exactly_one_process(tmp_path: Path) -> None:
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(tmp_path), "MATHASSIST_MODEL": "embedded", "MATHASSIST_IDLE_TIMEOUT": "60"}
    env.pop("MATHASSIST_URL", None)
    procs = [subprocess.Popen([sys.executable, "-c", CONNECT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in outs]
    pids = {out.split()[0] for out, _ in outs}
    assert len(pids) == 1, pids
    pid = int(pids.pop())
    try:
        log = (tmp_path / "server.log").read_text()
        assert log.count("listening on") == 1, log
        assert all(out.split()[1] == "embedded" for out, _ in outs)
        assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "server.json").stat().st_mode) == 0o600
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not (tmp_path / "server.json").exists(), "a stopped process must withdraw its server.json"


@pytest.mark.slow
def test_idle_timeout_ends_a_spawned_process(own_runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATHASSIST_IDLE_TIMEOUT", "2")
    with Client.connect() as client:
        pid = client.endpoint.pid
        assert pid is not None and client.health()["status"] == "ok"
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(pid)
    with pytest.raises(ServerUnavailable, match="mathassist serve"):
        find_endpoint(spawn=False)


def test_external_url_is_used_and_never_spawned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATHASSIST_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("MATHASSIST_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MATHASSIST_API_KEY", "k")
    endpoint = find_endpoint()
    assert endpoint.external and endpoint.url == "http://127.0.0.1:9" and endpoint.token == "k"
    with pytest.raises(ServerUnavailable, match="not reachable"):
        Client(endpoint).model()
    assert not (tmp_path / "server.json").exists()
