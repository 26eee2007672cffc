"""A real Jupyter server (`jupyter server`, as JupyterLab runs it) with mathassist's server extension
enabled the way an install enables it, and a client that speaks to its endpoints with the token."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


@dataclass
class JupyterServer:
    """A running Jupyter server: its URL, token and process."""

    url: str
    token: str
    proc: subprocess.Popen[bytes]
    log: Path

    def request(self, method: str, endpoint: str, timeout: float = 120, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.url}/mathassist/{endpoint}", headers=headers, timeout=timeout, **kwargs)

    def suggest(self, cells: list[tuple[str, str]], offset: int | None = None, timeout: float = 120) -> httpx.Response:
        """Ask for the ghost text in the last cell (at its end unless `offset`), as the browser asks."""
        body = {"notebook": "test.ipynb", "cells": [{"cell_type": t, "source": s} for t, s in cells],
                "offset": len(cells[-1][1]) if offset is None else offset, "explicit": True}
        return self.request("POST", "suggest", json=body, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_jupyter(app: str, root: Path, env: dict[str, str], *args: str) -> JupyterServer:
    """`jupyter <app>` (server or lab) on a free loopback port, with config and data folders of its own;
    the extension is found through the venv's etc/jupyter, as after `pip install`."""
    port, token = free_port(), secrets.token_hex(16)
    home = root / "jupyter-home"
    for sub in ("config", "data", "runtime", "work"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {**env, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_PLATFORM_DIRS": "1"}
    log = root / f"jupyter-{app}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab" if app == "lab" else "jupyter_server", f"--port={port}", "--ip=127.0.0.1", "--no-browser",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home / 'work'}",
         *(["--allow-root"] if os.geteuid() == 0 else []), *args],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api", timeout=2).status_code == 200:
                return JupyterServer(url, token, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"jupyter {app} did not answer in 90 s:\n{log.read_text()[-3000:]}")


def stop_jupyter(server: JupyterServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[Callable[..., JupyterServer]]:
    """Start a Jupyter server with the extension; keyword arguments set its environment (where its
    model is: MATHASSIST_RUNTIME_DIR of a running process, or MATHASSIST_URL of a scripted one)."""
    started: list[JupyterServer] = []

    def start(**env: str) -> JupyterServer:
        base = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(tmp_path / "no-model"), "MATHASSIST_IDLE_TIMEOUT": "60"}
        base.pop("MATHASSIST_URL", None)
        started.append(start_jupyter("server", tmp_path / f"server{len(started)}", {**base, **env}))
        return started[-1]

    yield start
    for server in started:
        stop_jupyter(server)
