"""Hardening figures, measured in one run: memory over many requests, and recovery after kill -9.

- the model process's RSS after a warm-up and after 1,000 more varied requests (streamed and
  not, chat and completion, n up to 4, sampled and greedy, some abandoned mid-stream, some
  refused as malformed); goal: under 10% growth;
- the language server's RSS after a warm-up and after 10,000 edits, each followed by an inline
  completion request, on one document (every 100th awaited through the model);
- time from kill -9 of the model process to the next successful answer, for `mathassist solve`
  and for the language server, beside the same answer from a warm process.

    python -m bench.hardening [--requests 1000] [--edits 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from lsprotocol import types
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from bench._server import Server, model_process

HEAD = "We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= "
PROBLEM = "Solve for $x$: $3x + 5 = 20$."


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def varied_requests(server: Server, count: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    sem = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=120) as http:
        async def one(i: int) -> None:
            chat = rng.random() < 0.3
            body: dict[str, object] = {"max_tokens": rng.randint(1, 24), "n": rng.choice([1, 1, 2, 4]),
                                       "temperature": rng.choice([0, 0.7, 1.2]), "seed": rng.randint(0, 2**40),
                                       "stream": rng.random() < 0.5}
            if chat:
                body["messages"] = [{"role": "user", "content": f"Compute ${rng.randint(1, 999)} + {rng.randint(1, 999)}$."}]
            else:
                body["prompt"] = HEAD * rng.randint(1, 6)
            kind = rng.random()
            if kind < 0.05:
                body["seed"] = 2**70  # refused
            async with sem:
                path = "/v1/chat/completions" if chat else "/v1/completions"
                async with http.stream("POST", path, json=body) as r:
                    if body["stream"] and r.status_code == 200 and kind > 0.9:
                        async for _ in r.aiter_lines():
                            break  # abandoned mid-stream: the process must cancel it
                        key = "abandoned"
                    else:
                        await r.aread()
                        key = str(r.status_code)
            outcomes[key] = outcomes.get(key, 0) + 1

        await asyncio.gather(*(one(i) for i in range(count)))
    return outcomes


def server_memory(requests: int) -> None:
    with model_process() as server:
        asyncio.run(varied_requests(server, 200, seed=1))
        before = rss_mib(server.pid)
        t = time.perf_counter()
        outcomes = asyncio.run(varied_requests(server, requests, seed=2))
        took = time.perf_counter() - t
        after = rss_mib(server.pid)
        print(f"model process RSS: {before:.1f} MiB after 200 warm-up requests, {after:.1f} MiB after {requests} more "
              f"({took:.0f} s; {', '.join(f'{k}: {v}' for k, v in sorted(outcomes.items()))}): "
              f"growth {100 * (after - before) / before:+.1f}% (goal < 10%)")


async def lsp_session(server: Server, edits: int) -> None:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env={**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)})
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"inline": {"debounceMs": 150}}))
    pid = client._server.pid  # type: ignore[attr-defined, union-attr]
    uri = "file:///bench/long.tex"
    text = HEAD * 40  # a long document: every request reads all of it
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "latex", 1, text)))
    typed = "x^2 + 8x + 15 \\\\"
    try:
        before, trend = 0.0, []
        for i in range(edits):
            lines = text.split("\n")
            line, col = len(lines) - 1, len(lines[-1])
            if i % len(typed) == len(typed) - 1:  # erase the step and type it again: the document stays the same size
                start = col - (len(typed) - 1)
                change = types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=start), end=types.Position(line=line, character=col)), text="")
                text = text[: len(text) - (len(typed) - 1)]
            else:
                ch = typed[i % len(typed)]
                change = types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=col), end=types.Position(line=line, character=col)), text=ch)
                text += ch
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2), content_changes=[change]))
            lines = text.split("\n")
            pending = asyncio.ensure_future(client.text_document_inline_completion_async(types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=len(lines) - 1, character=len(lines[-1])))))
            if i % 100 == 99:
                await pending
            if i == 499:
                before = rss_mib(pid)
            if i % 2500 == 2499:
                trend.append(f"{i + 1}: {rss_mib(pid):.1f}")
        await pending
        after = rss_mib(pid)
        print(f"language server RSS: {before:.1f} MiB after 500 edits, {after:.1f} MiB after {edits} edits and completions "
              f"on one {len(text)}-character document: growth {100 * (after - before) / before:+.1f}% (MiB by edits: {', '.join(trend)})")
    finally:
        await client.shutdown_session()


def solve_seconds(env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "mathassist", "solve", PROBLEM], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "answer: 5" in r.stdout, r.stderr
    return time.perf_counter() - t


def kill_announced(runtime: Path) -> float:
    pid = json.loads((runtime / "server.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    return time.perf_counter()


async def lsp_recovery(env: dict[str, str], runtime: Path) -> tuple[float, float]:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env=env)
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"inline": {"debounceMs": 0}}))
    count = [0]

    async def suggest() -> types.InlineCompletionList | list[types.InlineCompletionItem] | None:
        count[0] += 1  # a new document each time: the suggestion cache must not answer
        uri = f"file:///bench/x{count[0]}.tex"
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "latex", 1, HEAD)))
        return await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=3, character=3)))

    try:
        assert await suggest() is not None
        t = time.perf_counter()
        assert await suggest() is not None
        warm = time.perf_counter() - t
        killed = kill_announced(runtime)
        while await suggest() is None:  # the first one reports the loss
            await asyncio.sleep(0.1)
        return warm, time.perf_counter() - killed
    finally:
        await client.shutdown_session()


def recovery() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Path(tmp)
        env = {**os.environ, "MATHASSIST_RUNTIME_DIR": tmp, "MATHASSIST_MODEL": "embedded", "MATHASSIST_IDLE_TIMEOUT": "60"}
        env.pop("MATHASSIST_URL", None)
        try:
            solve_seconds(env)  # spawns the process
            warm = solve_seconds(env)
            killed = kill_announced(runtime)
            time.sleep(0.5)
            t = time.perf_counter()
            again = solve_seconds(env)
            print(f"CLI: kill -9 to next answer {time.perf_counter() - killed:.1f} s ({again:.1f} s for the solve that respawned, "
                  f"{t - killed:.1f} s idle before it); the same solve on a warm process {warm:.1f} s")
            lsp_warm, lsp_back = asyncio.run(lsp_recovery(env, runtime))
            print(f"language server: kill -9 to next suggestion {lsp_back:.1f} s; a suggestion on a warm process {lsp_warm * 1000:.0f} ms")
        finally:
            info = runtime / "server.json"
            if info.exists():
                os.kill(json.loads(info.read_text())["pid"], signal.SIGTERM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--only", choices=["server", "lsp", "recovery"], help="run one part")
    args = parser.parse_args()
    if args.only in (None, "server"):
        server_memory(args.requests)
    if args.only in (None, "lsp"):
        with model_process() as server:
            asyncio.run(lsp_session(server, args.edits))
    if args.only in (None, "recovery"):
        recovery()


if __name__ == "__main__":
    main()
