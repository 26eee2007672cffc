"""`mathassist`: serve | solve | status | stop | lsp.

This is a front end (the terminal one): it imports `model_server.client` and `mathcore`, and
imports the server or the language server only inside the subcommand that runs them, so
`mathassist solve` starts without loading torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from mathcore.sampling import InvalidParameter, SamplingParams

__all__ = ["main"]

FLAG_NAMES = {
    "temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p",
    "max_new_tokens": "--max-new-tokens", "samples": "--samples", "seed": "--seed",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mathassist", description="DeepSeekMath in your editor, notebook and terminal.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the shared model process in the foreground")
    s.add_argument("--model", default=os.environ.get("MATHASSIST_MODEL", "auto"),
                   help="auto, embedded, a hub id (deepseek-ai/deepseek-math-7b-rl) or a local checkpoint folder")
    s.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    s.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="0 picks a free port (written to server.json)")
    s.add_argument("--api-key", default=None, help="bearer token to require (default: a random one in server.json)")
    s.add_argument("--idle-timeout", type=float, default=0.0, help="exit after this many idle seconds (0: never)")
    s.add_argument("--max-batch", type=int, default=16, help="sequences decoded together")
    s.add_argument("--max-queue", type=int, default=64, help="requests waiting before 429")
    s.add_argument("--allow-host", action="append", default=[], help="extra Host header to accept (when not on loopback)")

    v = sub.add_parser("solve", help="solve one problem step by step")
    v.add_argument("problem")
    v.add_argument("--temperature", type=float)
    v.add_argument("--top-k", type=int)
    v.add_argument("--top-p", type=float)
    v.add_argument("--max-new-tokens", type=int)
    v.add_argument("--samples", type=int)
    v.add_argument("--seed", type=int)
    v.add_argument("--json", action="store_true", help="print one JSON object (answer, text, model, samples, votes, params)")

    sub.add_parser("status", help="show the shared model process")
    sub.add_parser("stop", help="stop the shared model process")
    sub.add_parser("lsp", help="the language server on stdio (what editors launch)")
    return p


def _serve(args: argparse.Namespace) -> int:
    from model_server.server import ServeOptions, serve

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    return serve(ServeOptions(
        model=args.model, device=args.device, dtype=args.dtype, host=args.host, port=args.port,
        api_key=args.api_key, idle_timeout=args.idle_timeout, max_batch=args.max_batch,
        max_queue=args.max_queue, allow_hosts=tuple(args.allow_host),
    ))


def _solve(args: argparse.Namespace) -> int:
    from model_server.client import Client, solve

    try:
        params = SamplingParams.create(names=FLAG_NAMES, **{k: getattr(args, k) for k in FLAG_NAMES})
    except InvalidParameter as exc:
        print(f"mathassist solve: {exc}", file=sys.stderr)
        return 2
    with Client.connect() as client:
        if args.json:
            result = solve(client, args.problem, params)
            print(json.dumps(result.to_json(), ensure_ascii=False))
            return 0
        shown = [0]

        def echo(texts: list[str]) -> None:
            piece = texts[0][shown[0]:]
            sys.stdout.write(piece.lstrip() if shown[0] == 0 else piece)  # the model's reply starts with a space
            sys.stdout.flush()
            shown[0] = len(texts[0])

        result = solve(client, args.problem, params, on_text=echo if params.samples == 1 else None)
        if params.samples == 1:
            print()
        else:  # several samples stream at once: show the voted solution and the vote
            print(result.text)
            print("votes: " + ", ".join(f"{v.answer} ({v.count}/{params.samples})" for v in result.votes))
        print(f"answer: {result.answer if result.answer is not None else '(none found)'}   [{result.model}]")
    return 0


def _status() -> int:
    from model_server.client import Client

    client = Client.connect(spawn=False, wait=False)
    with client:
        st = client.status()
    st["url"] = client.endpoint.url
    width = max(len(k) for k in st)
    for k, v in st.items():
        print(f"{k:<{width}}  {v}")
    return 0


def _stop() -> int:
    from model_server.client import find_endpoint

    endpoint = find_endpoint(spawn=False)
    if endpoint.external or endpoint.pid is None:
        print(f"mathassist stop: {endpoint.url} is an external server (MATHASSIST_URL); stop it where it runs", file=sys.stderr)
        return 1
    os.kill(endpoint.pid, signal.SIGTERM)
    from model_server.discovery import pid_alive

    deadline = time.monotonic() + 15
    while pid_alive(endpoint.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"stopped the model process (pid {endpoint.pid})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from model_server.client import ClientError
    from model_server.discovery import RuntimeDirError

    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "solve":
            return _solve(args)
        if args.command == "status":
            return _status()
        if args.command == "stop":
            return _stop()
        from lsp_server.server import run_stdio

        return run_stdio()
    except (ClientError, RuntimeDirError) as exc:
        print(f"mathassist {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mathassist solve ... | head`: the reader left; closing the stream cancelled the generation
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
