"""llama.cpp's OpenAI-compatible server (llama-cpp-python) serving the embedded model, for the
engine tests: started as the README's recipe starts it, on 127.0.0.1, with an API key.

`make test-engines` installs the engine and converts the embedded model first
(`scripts/llama_cpp_engine.py`); where that has not been done for the weights as they are now,
the tests are skipped with the command that does it.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from model_server.client import ClientError, external_endpoint, wait_ready
from scripts import llama_cpp_engine as engine


@dataclass(frozen=True)
class LlamaServer:
    """Where the server listens (`url`, as MATHASSIST_URL takes it), its key, and its log."""

    url: str
    api_key: str
    log: Path

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` pointing every client at this server (nothing spawned)."""
        return {**base, "MATHASSIST_URL": self.url, "MATHASSIST_API_KEY": self.api_key}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 120.0) -> None:
    """Until the server accepts connections (it imports FastAPI and loads the model first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp's server exited at start (status {proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"llama.cpp's server did not listen on port {port} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    gguf = engine.gguf_path()
    if not engine.SERVER_PYTHON.exists() or not gguf.exists():
        pytest.skip("llama.cpp's server is not installed, or the embedded model not converted as it is now: run `make test-engines`")
    port, key = _free_port(), secrets.token_urlsafe(16)
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(engine.serve_command(gguf, port, key), stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_listening(proc, port)
        wait_ready(external_endpoint(url, key), timeout=60)  # it has no /health: readiness from /v1/models
    except (ClientError, RuntimeError) as exc:
        proc.kill()
        raise RuntimeError(f"{exc}\n{log.read_text(errors='replace')[-2000:]}") from exc
    yield LlamaServer(url, key, log)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
