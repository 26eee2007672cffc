"""Find the shared model process, or start exactly one.

Order: `MATHASSIST_URL` (an external OpenAI-compatible server; never spawned), else the process
that `server.json` announces if it answers, else spawn one. Spawning happens under a file lock in
the runtime folder and re-checks after taking it, so any number of clients that start at once
make one process. A stale `server.json` (its process killed, crashed, or its pid now another
program's, or a corrupt file) is removed under the same lock and replaced by a new process.
Waiting for the model to finish loading is separate (`wait_ready`), so a front end can show
progress meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from filelock import FileLock, Timeout

from model_server.client._errors import ModelLoadFailed, ModelMismatch, ServerUnavailable
from model_server.client._wire import Endpoint, error_for
from model_server.discovery import (
    RuntimeDirError,
    ServerInfo,
    info_path,
    pid_alive,
    process_state,
    read_info,
    remove_corrupt,
    remove_info,
    runtime_dir,
)

__all__ = ["external_endpoint", "find_endpoint", "serve_process", "stop_process", "wait_ready"]

log = logging.getLogger(__name__)
SPAWN_TIMEOUT_S = 60.0
STARTUP_GRACE_S = 30.0
EXTERNAL_CONNECT_S = 2.0
DEFAULT_IDLE_TIMEOUT_S = 1800


def _answers(info: ServerInfo) -> bool:
    """Alive, ours and answering; a process that announced itself moments ago counts while it starts.

    The process binds its port before it writes server.json, so a live model process that refuses
    connections after the grace period is as stale as a dead one.
    """
    if process_state(info.pid) != "alive":
        return False
    try:
        return httpx.get(f"{info.url}/health", timeout=5.0).status_code in (200, 503)
    except httpx.HTTPError:
        return time.time() - info.started_at < STARTUP_GRACE_S


def _spawn_command(model: str | None = None) -> list[str]:
    """The command that starts a shared process for this user (model and idle timeout from the environment)."""
    model = model or os.environ.get("MATHASSIST_MODEL", "auto")
    idle = os.environ.get("MATHASSIST_IDLE_TIMEOUT", str(DEFAULT_IDLE_TIMEOUT_S))
    return [sys.executable, "-m", "mathassist", "serve", "--model", model, "--idle-timeout", idle]


def _spawn(model: str | None) -> ServerInfo:
    folder = runtime_dir()
    log_path = folder / "server.log"
    try:
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed below, once the child has its copy
    except OSError as exc:
        raise RuntimeDirError(f"cannot write {log_path} ({exc.strerror or exc}); make the folder writable, free some space, "
                              "or set MATHASSIST_RUNTIME_DIR to another folder") from exc
    with log_file:
        proc = subprocess.Popen(
            _spawn_command(model), stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True
        )
    info = wait_announced(proc, folder, SPAWN_TIMEOUT_S)
    # reap it when it exits (idle timeout, `mathassist stop`): no zombie in a long-lived client
    threading.Thread(target=proc.wait, name="mathassist-reaper", daemon=True).start()
    return info


def wait_announced(proc: subprocess.Popen[Any], folder: Path, timeout: float = SPAWN_TIMEOUT_S,
                   log_path: Path | None = None) -> ServerInfo:
    """The server.json that the process `proc` (just started in runtime folder `folder`) writes.

    Raises ServerUnavailable with the end of its log (default `server.log` there) if it exits
    first, and kills it if it stays silent past `timeout`.
    """
    log_path = log_path or folder / "server.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_info(folder)
        if info is not None and info.pid == proc.pid:
            return info
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:] if log_path.exists() else "(no log)"
            raise ServerUnavailable(f"the model process exited at start (status {proc.returncode}); its log {log_path} ends:\n{tail}")
        time.sleep(0.05)
    proc.kill()
    raise ServerUnavailable(f"the model process did not announce itself within {timeout:.0f} s; see {log_path}")


def serve_process(runtime_dir: Path, model: str = "embedded", *extra: str, log_path: Path | None = None,
                  timeout: float = 120.0) -> tuple[subprocess.Popen[bytes], Endpoint]:
    """Start `mathassist serve` announcing itself in a runtime folder of the caller's own, and wait
    until its model is loaded (tests and benchmarks: a process nobody else finds). The caller stops it."""
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(runtime_dir)}
    log_path = log_path or runtime_dir / "server.log"
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "mathassist", "serve", "--model", model, *extra],
                                env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
    try:
        info = wait_announced(proc, runtime_dir, timeout, log_path)
        endpoint = Endpoint(info.url, info.token, info.model, pid=info.pid)
        wait_ready(endpoint, timeout)
    except BaseException:
        proc.kill()
        raise
    return proc, endpoint


def external_endpoint(url: str, api_key: str | None = None) -> Endpoint:
    """An OpenAI-compatible server that is not ours (vLLM, TGI): used as it is, never spawned or stopped."""
    return Endpoint(url.rstrip("/").removesuffix("/v1"), api_key, None, external=True)


def find_endpoint(spawn: bool = True, model: str | None = None, url: str | None = None, api_key: str | None = None) -> Endpoint:
    """The endpoint to use: the server at `url` (else `$MATHASSIST_URL`) as it is, else the shared
    process, spawned if allowed and none answers.

    `model` (else `$MATHASSIST_MODEL`) is the model wanted; a running process that serves
    another one is not used silently: `ModelMismatch` says so and how to switch.
    """
    url = url or os.environ.get("MATHASSIST_URL")
    if url:
        return external_endpoint(url, api_key or os.environ.get("MATHASSIST_API_KEY"))
    try:
        endpoint = _local_endpoint(spawn, model)
    except RuntimeDirError as exc:
        raise ServerUnavailable(str(exc)) from exc
    _check_model(endpoint, model)
    return endpoint


def _local_endpoint(spawn: bool, model: str | None) -> Endpoint:
    info = read_info()
    if info is not None and _answers(info):
        return Endpoint(info.url, info.token, info.model, pid=info.pid)
    if not spawn:
        raise ServerUnavailable("no mathassist model process is running; start one with `mathassist serve` "
                                "(or set MATHASSIST_URL to an OpenAI-compatible server)")
    lock = FileLock(str(runtime_dir() / "spawn.lock"))
    spawned = False
    try:
        with lock.acquire(timeout=SPAWN_TIMEOUT_S + 5):
            info = read_info()
            if info is None or not _answers(info):
                _forget_stale(info)
                info, spawned = _spawn(model), True
    except Timeout as exc:
        raise ServerUnavailable(f"another client has held {lock.lock_file} for over a minute; remove it if no mathassist is starting") from exc
    return Endpoint(info.url, info.token, info.model, pid=info.pid, spawned=spawned)


def _check_model(endpoint: Endpoint, model: str | None) -> None:
    from_env = model is None
    wanted = model or os.environ.get("MATHASSIST_MODEL") or "auto"
    if wanted == "auto" or endpoint.model is None:
        return
    if os.path.isdir(wanted):  # the process names a local checkpoint by its absolute path
        wanted = os.path.realpath(wanted)
    if wanted.rstrip("/") == endpoint.model.rstrip("/"):
        return
    how = "unset MATHASSIST_MODEL" if from_env else "ask for that model"
    raise ModelMismatch(f"the running model process (pid {endpoint.pid}) serves {endpoint.model}, not {wanted}"
                        f"{' (MATHASSIST_MODEL)' if from_env else ''}; run `mathassist stop` to let the next request start "
                        f"{wanted}, or {how} to use the running one")


def stop_process(endpoint: Endpoint, timeout: float = 15.0) -> bool:
    """Ask our model process to exit (SIGTERM) and wait for it; False if it is still running."""
    if endpoint.external or endpoint.pid is None:
        raise ServerUnavailable(f"{endpoint.url} is an external server (MATHASSIST_URL); stop it where it runs")
    with contextlib.suppress(ProcessLookupError):
        os.kill(endpoint.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(endpoint.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not pid_alive(endpoint.pid)


def _forget_stale(info: ServerInfo | None) -> None:
    """Withdraw an announcement nobody answers behind (called under the spawn lock)."""
    if info is None:
        remove_corrupt()
        return
    log.warning("the model process announced in %s (pid %d) is gone; starting a new one", info_path(), info.pid)
    remove_info(info.pid)


def _ready_by_models(endpoint: Endpoint) -> dict[str, object]:
    """Readiness of an external server that has no /health: its /v1/models answers (such servers
    load their model before they listen)."""
    r = httpx.get(f"{endpoint.url}/v1/models", headers=endpoint.headers(), timeout=5.0)
    if r.status_code != 200:
        raise error_for(r.status_code, r.text, dict(r.headers), endpoint.url, external=True)
    models = r.json().get("data") or [{}]
    return {"status": "ok", "model": models[0].get("id")}


def wait_ready(endpoint: Endpoint, timeout: float = 600.0, on_wait: Callable[[str], None] | None = None) -> dict[str, object]:
    """Poll /health until the model is loaded (/v1/models, for an external server without /health);
    report each wait through `on_wait`."""
    started = time.monotonic()
    deadline = started + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{endpoint.url}/health", timeout=5.0)
            data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if r.status_code == 200:
                return dict(data) if isinstance(data, dict) else {}
            if r.status_code == 404 and endpoint.external:  # a server without /health (llama-cpp-python's)
                return _ready_by_models(endpoint)
            if isinstance(data, dict) and data.get("status") == "error":
                raise ModelLoadFailed(f"the model process could not load its model: {data.get('message')}")
            last_error = f"HTTP {r.status_code}"
            if on_wait:
                on_wait(f"loading {data.get('model', 'the model') if isinstance(data, dict) else 'the model'}")
        except httpx.HTTPError as exc:
            last_error = str(exc)
            if endpoint.pid is not None and not pid_alive(endpoint.pid):
                raise ServerUnavailable(f"the model process (pid {endpoint.pid}) exited while starting; see {runtime_dir() / 'server.log'} "
                                        "(the next request starts a new one)") from exc
            if endpoint.external and time.monotonic() > started + EXTERNAL_CONNECT_S:
                raise ServerUnavailable(f"nothing answers at {endpoint.url} ({exc}); check MATHASSIST_URL or the serverUrl setting") from exc
        time.sleep(0.2)
    raise ServerUnavailable(f"the model at {endpoint.url} was not ready after {timeout:.0f} s ({last_error})")
