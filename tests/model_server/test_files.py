"""Files that go wrong under the model process: an unusable or full runtime folder, a corrupt
server.json, a model folder that disappears while the process runs."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from model_server import discovery
from model_server.client import Client
from model_server.discovery import RuntimeDirError, ServerInfo, pid_alive, write_info
from tests.conftest import ROOT, start_server, stop_server


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mathassist", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # runs the CLI in a process of its own
@pytest.mark.parametrize("command", [["solve", "Compute $1 + 1$."], ["serve", "--model", "embedded"], ["status"]])
def test_an_unusable_runtime_folder_is_one_line_naming_the_path_and_the_fix(tmp_path: Path, command: list[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runtime folder should be")
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(blocker / "run")}
    env.pop("MATHASSIST_URL", None)
    r = run_cli(env, *command)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1, r.stderr
    assert str(blocker / "run") in r.stderr and "MATHASSIST_RUNTIME_DIR" in r.stderr


def test_a_full_runtime_folder_names_the_file_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATHASSIST_RUNTIME_DIR", str(tmp_path))

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(discovery.json, "dump", disk_full)
    with pytest.raises(RuntimeDirError, match=r"server\.json.*No space left on device.*free some space"):
        write_info(ServerInfo(1, "http://127.0.0.1:1", "t", "m", "0", 0.0))
    assert list(tmp_path.iterdir()) == [], "no half-written file is left behind"


@pytest.mark.slow
def test_a_corrupt_server_json_is_replaced_by_a_new_process(own_runtime: Path) -> None:
    tmp_path = own_runtime
    (tmp_path / "server.json").write_text('{"pid": 12, "url": ')
    with Client.connect() as client:
        pid = client.endpoint.pid
        assert pid is not None and client.health()["status"] == "ok"
    try:
        assert json.loads((tmp_path / "server.json").read_text())["pid"] == pid
    finally:
        os.kill(pid, signal.SIGTERM)


@pytest.mark.slow  # starts another program to own the pid
def test_a_pid_now_owned_by_another_program_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The announced pid is alive but is not a model process (pid reuse after a reboot or a crash)."""
    monkeypatch.setenv("MATHASSIST_RUNTIME_DIR", str(tmp_path))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert discovery.process_state(other.pid) == "foreign"
        write_info(ServerInfo(other.pid, "http://127.0.0.1:9", "t", "embedded", "0", 0.0))
        from model_server.client._connect import _answers

        assert discovery.read_info() is not None and not _answers(discovery.read_info())  # type: ignore[arg-type]
    finally:
        other.kill()
        other.wait()
    assert discovery.process_state(other.pid) == "dead" and not pid_alive(other.pid)


def test_a_model_folder_that_disappears_mid_run_does_not_stop_the_process(tmp_path: Path, tiny_checkpoint: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, folder)
    runtime = tmp_path / "run"
    runtime.mkdir()
    proc, srv = start_server(runtime, model=str(folder))
    try:
        shutil.rmtree(folder)
        r = httpx.post(f"{srv.url}/v1/completions", headers=srv.headers, timeout=60,
                       json={"model": srv.model, "prompt": "Compute", "max_tokens": 4, "ignore_eos": True})
        assert r.status_code == 200, r.text
        assert r.json()["usage"]["completion_tokens"] == 4
        assert httpx.get(f"{srv.url}/health", timeout=5).json()["status"] == "ok"
    finally:
        stop_server(proc)
