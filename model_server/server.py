"""Run the model process: bind, announce, load in the background, serve until told to stop.

The socket is bound and `server.json` written before the model loads, so clients that spawned
this process find it at once and can show "loading" (`/health` answers 503 until the engine
runs). When loading fails, `/health` reports the error for a short while, then the process
exits. With an idle timeout, the process exits once nobody has used it for that long.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from mathcore.sampling import MAX_SAMPLES
from model_server import __version__
from model_server.app import LOCAL_HOSTS, ServerState, create_app
from model_server.discovery import ServerInfo, remove_info, write_info
from model_server.errors import ModelLoadError

__all__ = ["ServeOptions", "serve"]

log = logging.getLogger(__name__)
LOAD_ERROR_GRACE_S = 30.0


@dataclass(frozen=True)
class ServeOptions:
    """The `mathassist serve` flags, already validated by argparse."""

    model: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    idle_timeout: float = 0.0
    max_batch: int = MAX_SAMPLES
    max_queue: int = 64
    allow_hosts: tuple[str, ...] = ()
    prefix_cache_mb: int | None = None  # None: the engine's default for the device
    speculative_tokens: int | None = None  # None: the engine's default for the device


def _display_model(spec: str) -> str:
    from model_server.loading import resolve_model

    return resolve_model(spec)


def _load(state: ServerState, opts: ServeOptions) -> None:
    from model_server.engine import Engine
    from model_server.loading import load_model

    try:
        loaded = load_model(state.model, opts.device, opts.dtype)
    except ModelLoadError as exc:
        log.error("%s", exc)
        state.load_error = str(exc)
        return
    except Exception as exc:  # anything else is still reported to clients instead of hanging them
        log.exception("loading failed")
        state.load_error = f"{type(exc).__name__}: {exc}"
        return
    engine = Engine(loaded, max_batch=opts.max_batch, max_queue=opts.max_queue, prefix_cache_mb=opts.prefix_cache_mb,
                    speculative_tokens=opts.speculative_tokens)
    engine.start()
    # The millions of objects torch and transformers made while loading live as long as the
    # process; left to the collector, each full collection walks them all and stops every
    # stream for 150-500 ms here. Frozen, collections see only what serving allocates (as vLLM does).
    gc.collect()
    gc.freeze()
    state.last_used = time.monotonic()  # idle time counts from readiness, not from the start of loading
    state.engine = engine
    log.warning("ready: %s on %s", state.model, loaded.device)


async def _watchdog(server: uvicorn.Server, state: ServerState, opts: ServeOptions) -> None:
    failed_since: float | None = None
    while not server.should_exit:
        await asyncio.sleep(0.5)
        now = time.monotonic()
        if state.load_error:
            failed_since = failed_since or now
            if now - failed_since > LOAD_ERROR_GRACE_S:
                server.should_exit = True
        if opts.idle_timeout and state.engine is not None:
            stats = state.engine.stats()
            if not stats["running"] and not stats["queued"] and now - state.last_used > opts.idle_timeout:
                log.warning("idle for %.0f s: exiting", opts.idle_timeout)
                server.should_exit = True


async def _run(opts: ServeOptions) -> None:
    family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((opts.host, opts.port))
    sock.listen(128)  # connections queue from now on, before uvicorn starts accepting
    port = sock.getsockname()[1]
    host_in_url = f"[{opts.host}]" if ":" in opts.host else opts.host
    allowed = set(LOCAL_HOSTS) | {h.lower() for h in opts.allow_hosts}
    if opts.host not in ("0.0.0.0", "::"):
        allowed.add(opts.host.lower())
    state = ServerState(
        token=opts.api_key or secrets.token_urlsafe(32),
        model=_display_model(opts.model),
        version=__version__,
        allowed_hosts=frozenset(allowed),
        max_samples=min(MAX_SAMPLES, opts.max_batch),  # n beyond --max-batch could never join the batch
    )
    url = f"http://{host_in_url}:{port}"
    write_info(ServerInfo(os.getpid(), url, state.token, state.model, __version__, state.started_at))
    log.warning("mathassist model process %s listening on %s (pid %d)", __version__, url, os.getpid())
    config = uvicorn.Config(create_app(state), log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    threading.Thread(target=_load, args=(state, opts), name="mathassist-loader", daemon=True).start()
    watchdog = asyncio.ensure_future(_watchdog(server, state, opts))
    # uvicorn re-raises SIGTERM after its graceful shutdown; a no-op handler lets our cleanup run
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        await server.serve(sockets=[sock])
    finally:
        watchdog.cancel()
        remove_info(os.getpid())
        if state.engine is not None:
            state.engine.stop()


def serve(opts: ServeOptions) -> int:
    """Run in the foreground until SIGINT/SIGTERM or the idle timeout; returns the exit status."""
    asyncio.run(_run(opts))
    return 0
