"""kill -9 of the model process while the CLI, the language server and a kernel each wait on it.

Each front end gets one clear line; each next request succeeds on a new process that one of them
spawned (the stale server.json is replaced); exactly one model process is left. The killed
process stays unreaped (a zombie) until the end, the hardest case for telling dead from alive.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from lsprotocol import types

from tests.conftest import ROOT, RunningServer, start_server
from tests.ipython_ext.test_magic import Kernel
from tests.lsp_server.conftest import end_of, open_doc, start_lsp
from tests.lsp_server.test_lsp import ALIGN, DOC_TEX, inline_params

PROBLEM = "Solve for $x$: $3x + 5 = 20$."


def model_processes(runtime: Path) -> list[int]:
    """Live `mathassist serve` processes whose runtime folder is `runtime`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            env = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"serve" in argv and f"MATHASSIST_RUNTIME_DIR={runtime}".encode() in env and state != "Z":
            found.append(int(entry.name))
    return found


def cli(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mathassist", "solve", PROBLEM], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class KernelThread(threading.Thread):
    """A kernel that runs `%%solve` once now and once more when `again` is set."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.env, self.again = env, threading.Event()
        self.outputs: list[list[dict[str, Any]]] = []

    def run(self) -> None:
        kernel = Kernel()
        with kernel.client.setup_kernel(env=self.env):
            kernel.run("%load_ext ipython_ext")
            self.outputs.append(kernel.run(f"%%solve\n{PROBLEM}"))
            self.again.wait(120)
            self.outputs.append(kernel.run(f"%%solve\n{PROBLEM}"))
            self.outputs.append(kernel.run("print(6 * 7)"))


def blocker(srv: RunningServer) -> None:
    """Hold the only batch row with a long generation, so that the three clients queue behind it."""
    body = {"prompt": "We expand the product.\n", "max_tokens": 3000, "ignore_eos": True, "temperature": 0, "stream": True}
    try:
        with httpx.stream("POST", f"{srv.url}/v1/completions", json=body, headers=srv.headers, timeout=300) as r:
            for _ in r.iter_lines():
                pass
    except httpx.HTTPError:
        pass  # the process is killed under it


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


async def test_kill_9_while_cli_language_server_and_kernel_wait(tmp_path: Path) -> None:
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(tmp_path), "MATHASSIST_MODEL": "embedded", "MATHASSIST_IDLE_TIMEOUT": "120"}
    env.pop("MATHASSIST_URL", None)
    proc, srv = start_server(tmp_path, "--max-batch", "1")
    threading.Thread(target=blocker, args=(srv,), daemon=True).start()
    await asyncio.to_thread(wait_for, lambda: srv.metric("mathassist_requests_running") == 1, 30, "the blocker to run")

    kernel = KernelThread(env)
    kernel.start()
    first_cli = cli(env)
    lsp = await start_lsp(env)
    try:
        uri = "file:///work/expand.tex"
        open_doc(lsp, uri, DOC_TEX, "latex")
        first_inline = asyncio.ensure_future(lsp.text_document_inline_completion_async(inline_params(uri, end_of(ALIGN))))
        await asyncio.to_thread(wait_for, lambda: srv.metric("mathassist_requests_waiting") == 3, 90, "three queued requests")

        os.kill(proc.pid, signal.SIGKILL)  # not reaped: a zombie until the end of the test

        out, err = await asyncio.to_thread(first_cli.communicate, timeout=30)
        assert first_cli.returncode == 1
        assert err.count("\n") == 1 and "stopped (killed" in err and "next request starts a new one" in err, err
        assert await asyncio.wait_for(first_inline, 30) is None
        lost = [m.message for m in lsp.messages if m.type == types.MessageType.Error]
        assert len(lost) == 1 and "stopped (killed" in lost[0], lost
        await asyncio.to_thread(wait_for, lambda: len(kernel.outputs) == 1, 30, "the kernel's cell to end")
        errors = [o for o in kernel.outputs[0] if o["output_type"] == "error"]
        assert len(errors) == 1 and errors[0]["ename"] == "SolveError" and len(errors[0]["traceback"]) == 1
        assert "stopped (killed" in errors[0]["traceback"][0]

        # the next request of each, all at once: one of them replaces the stale server.json
        kernel.again.set()
        second_cli = cli(env)
        result = await asyncio.wait_for(lsp.text_document_inline_completion_async(inline_params(uri, end_of(ALIGN))), 120)
        assert isinstance(result, types.InlineCompletionList) and result.items, result
        out, err = await asyncio.to_thread(second_cli.communicate, timeout=120)
        assert second_cli.returncode == 0, err
        assert out.rstrip().splitlines()[-1].startswith("answer: 5")
        await asyncio.to_thread(wait_for, lambda: len(kernel.outputs) == 3, 120, "the kernel's next cells")
        answer = [o for o in kernel.outputs[1] if o["output_type"] == "execute_result"]
        assert answer and "**Answer:** $5$" in answer[0]["data"]["text/markdown"], kernel.outputs[1]
        assert kernel.outputs[2][0]["text"] == "42\n", "the kernel lives on"

        alive = model_processes(tmp_path)
        pid = json.loads((tmp_path / "server.json").read_text())["pid"]
        assert alive == [pid] and pid != proc.pid, (alive, pid)
        assert (tmp_path / "server.log").read_text().count("listening on") == 1
    finally:
        await lsp.shutdown_session()
        proc.wait(timeout=10)
        for pid in model_processes(tmp_path):
            os.kill(pid, signal.SIGTERM)
