"""`mathassist`: serve | solve | check | status | stop | lsp | sandbox, and `--version`.

This is a front end (the terminal one): it imports `model_server.client` and `mathcore`, and
imports the server or the language server only inside the subcommand that runs them, so
`mathassist solve` starts without loading torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from mathcore.sampling import MAX_SAMPLES, PARAMS, InvalidParameter, SamplingParams
from mathcore.solution import REFUTED_NOTE, StepCheck, mark_refuted
from mathcore.tools import MAX_TOOL_ROUNDS, tool_rounds

__all__ = ["main"]

FLAG_NAMES = {p.name: p.flag for p in PARAMS}


def sampling_flags(add: Any) -> None:
    """Add the sampling flags of `PARAMS` through `add` (argparse's add_argument)."""
    for p in PARAMS:
        add(*p.flags(), dest=p.name, type=int if p.integer else float, metavar=p.name.upper(), help=p.help_line())


def _parser() -> argparse.ArgumentParser:
    from model_server import __version__

    p = argparse.ArgumentParser(prog="mathassist", description="DeepSeekMath in your editor, notebook and terminal.")
    p.add_argument("--version", action="version", version=f"mathassist {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    _serve_flags(sub.add_parser("serve", help="run the shared model process in the foreground"))
    _solve_flags(sub.add_parser("solve", help="solve one problem step by step",
                                description="Solve one problem step by step through the shared model process (started if none runs)."))
    _check_flags(sub.add_parser("check", help="check every step of the derivations in files (LaTeX, Markdown, plain text)",
                                description="Check every derivation step with sympy: exit 1 if a step is wrong, 0 otherwise, 2 on a usage error."))
    _sandbox_flags(sub.add_parser("sandbox", help="run Python from standard input in the sandbox the tool loop uses",
                                  description="Run the Python program on standard input in exactly the sandbox that --tools uses."))
    sub.add_parser("status", help="show the shared model process")
    sub.add_parser("stop", help="stop the shared model process")
    sub.add_parser("lsp", help="the language server on stdio (what editors launch)")
    return p


def _serve_flags(s: argparse.ArgumentParser) -> None:
    from model_server.drafter import CPU_SPECULATIVE_TOKENS, MAX_SPECULATIVE_TOKENS

    s.add_argument("--model", default=os.environ.get("MATHASSIST_MODEL", "auto"),
                   help="auto, embedded, a hub id (deepseek-ai/deepseek-math-7b-rl) or a local checkpoint folder")
    s.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    s.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="0 picks a free port (written to server.json)")
    s.add_argument("--api-key", default=None, help="bearer token to require (default: a random one in server.json)")
    s.add_argument("--idle-timeout", type=float, default=0.0, help="exit after this many idle seconds (0: never)")
    s.add_argument("--max-batch", type=int, default=MAX_SAMPLES, help=f"sequences decoded together (default {MAX_SAMPLES})")
    s.add_argument("--max-queue", type=int, default=64, help="requests waiting before 429")
    s.add_argument("--prefix-cache-mb", type=int, default=None, metavar="MIB",
                   help="memory for recent prompts' caches, reused by prompts that start the same way "
                        "(default 4096 on a GPU, 512 on a CPU; 0 turns reuse off)")
    s.add_argument("--speculative-tokens", type=int, default=None, metavar="N",
                   help="tokens to guess per step from the text at hand and check in the same pass, output unchanged "
                        f"(0 to {MAX_SPECULATIVE_TOKENS}; 0 turns it off; default {CPU_SPECULATIVE_TOKENS} on a CPU, 0 on a GPU)")
    s.add_argument("--allow-host", action="append", default=[], help="extra Host header to accept (when not on loopback)")


def _solve_flags(v: argparse.ArgumentParser) -> None:
    v.add_argument("problem", help="the problem, LaTeX welcome (quote it: 'Solve for $x$: $3x + 5 = 20$.')")
    sampling_flags(v.add_argument)
    v.add_argument("--json", action="store_true",
                   help="print one JSON object (answer, text, model, samples, votes, params, tool_runs, checks, refuted, declined, notes)")
    v.add_argument("--no-check", dest="check", action="store_false",
                   help="do not check the solution's equations with the derivation checker (checked and refuted steps marked by default)")
    v.add_argument("--tools", action="store_true", help="let the model write Python that runs in the sandbox (DeepSeekMath's tool-integrated format)")
    v.add_argument("--max-tool-rounds", type=int, default=2, metavar="N",
                   help=f"programs run per solution at most, 1 to {MAX_TOOL_ROUNDS} (default 2)")


def _check_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("files", nargs="+", metavar="FILE", help=".tex, .md or any text file")
    c.add_argument("--format", choices=["text", "json", "sarif", "github"], default="text",
                   help="text (compiler-style lines), json (one object per step), sarif (SARIF 2.1.0, for code scanning) "
                        "or github (workflow annotations)")
    c.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    c.add_argument("--timeout", type=float, default=2.0, metavar="S", help="seconds a step may take to decide (default 2)")
    c.add_argument("--jobs", type=int, default=None, metavar="N", help="worker processes (default: one per core)")
    c.add_argument("--no-cache", dest="cache", action="store_false",
                   help="decide every step again instead of reading verdicts kept in the user's cache folder")


def _sandbox_flags(b: argparse.ArgumentParser) -> None:
    b.add_argument("--json", action="store_true", help="print {stdout, error, timed_out, exit_code, seconds, ...} as JSON")
    b.add_argument("--info", action="store_true", help="print, as JSON, which protections are in force on this machine")
    b.add_argument("--time-limit", type=float, metavar="S", help="wall-clock seconds (default 10, or $MATHASSIST_SANDBOX_TIME)")
    b.add_argument("--memory-limit", type=int, metavar="MIB", help="address space in MiB (default 1024, or $MATHASSIST_SANDBOX_MEMORY)")


def _serve(args: argparse.Namespace) -> int:
    from model_server.drafter import MAX_SPECULATIVE_TOKENS
    from model_server.server import ServeOptions, serve

    if args.max_batch < 1 or args.max_queue < 0 or (args.prefix_cache_mb or 0) < 0:
        print("mathassist serve: --max-batch must be at least 1, --max-queue and --prefix-cache-mb at least 0", file=sys.stderr)
        return 2
    if args.speculative_tokens is not None and not 0 <= args.speculative_tokens <= MAX_SPECULATIVE_TOKENS:
        print(f"mathassist serve: --speculative-tokens must be between 0 and {MAX_SPECULATIVE_TOKENS} (0 turns speculation off), "
              f"got {args.speculative_tokens}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    return serve(ServeOptions(
        model=args.model, device=args.device, dtype=args.dtype, host=args.host, port=args.port,
        api_key=args.api_key, idle_timeout=args.idle_timeout, max_batch=args.max_batch,
        max_queue=args.max_queue, allow_hosts=tuple(args.allow_host), prefix_cache_mb=args.prefix_cache_mb,
        speculative_tokens=args.speculative_tokens,
    ))


def _solve(args: argparse.Namespace) -> int:
    from assist import solve
    from model_server.client import Client

    if not args.problem.strip():
        print("mathassist solve: the problem is empty; give it in quotes, for example: mathassist solve 'Compute $12 + 30$.'",
              file=sys.stderr)
        return 2
    try:
        params = SamplingParams.create(names=FLAG_NAMES, **{p.name: getattr(args, p.name) for p in PARAMS})
        rounds = tool_rounds(args.max_tool_rounds)
    except (InvalidParameter, ValueError) as exc:
        print(f"mathassist solve: {exc}", file=sys.stderr)
        return 2
    with Client.connect(on_wait=_progress) as client:
        if not args.json:  # --json has them as `notes`
            client.on_note = _note
        if args.json:
            result = solve(client, args.problem, params, tools=args.tools, max_tool_rounds=rounds, check=args.check)
            print(json.dumps(result.to_json(), ensure_ascii=False))
            return 0
        echo = _Echo()
        streamed = params.samples == 1
        result = solve(client, args.problem, params, on_text=echo.text if streamed else None, tools=args.tools,
                       max_tool_rounds=rounds, check=args.check, on_checks=echo.checks if streamed else None)
        if streamed:
            echo.finish(result.checks)
        else:  # several samples stream at once: show the voted solution and the vote
            print(mark_refuted(result.text, result.checks, "text"))
            print("votes: " + ", ".join(f"{v.answer} ({v.count}/{params.samples})" for v in result.votes))
            if result.unsure():
                agree, total = result.agreement()
                print(f"low agreement: only {agree} of {total} samples give this answer; treat it as unsure")
        if result.declined is not None:
            print(f"declined: {result.decline_note()}   [{result.model}]")
        else:
            print(f"answer: {result.answer if result.answer is not None else '(none found)'}   [{result.model}]")
        if result.refuted():
            print(f"⚠ {REFUTED_NOTE.format(n=len(result.refuted()))}")
    return 0


class _Echo:
    """Prints a streaming solution as it comes, and after each completed line the refuted steps the
    checker has reported so far (`on_checks` runs in the checker's thread; printing stays here)."""

    def __init__(self) -> None:
        self.shown = 0
        self.marked: set[tuple[int, str]] = set()
        self.pending: list[StepCheck] = []
        self.lock = threading.Lock()

    def checks(self, checks: list[StepCheck]) -> None:
        with self.lock:
            self.pending = [c for c in checks if c.verdict == "wrong" and (c.line, c.step) not in self.marked]

    def text(self, texts: list[str]) -> None:
        piece = texts[0][self.shown:]
        if self.shown == 0:
            piece = piece.lstrip()  # the model's reply starts with a space
        self.shown = len(texts[0])
        cut = piece.rfind("\n")
        if cut < 0 or not self.pending:
            sys.stdout.write(piece)
        else:
            sys.stdout.write(piece[: cut + 1])
            self._marks()
            sys.stdout.write(piece[cut + 1:])
        sys.stdout.flush()

    def _marks(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, []
        for c in pending:
            if (c.line, c.step) not in self.marked:
                self.marked.add((c.line, c.step))
                print(f"  ⚠ refuted: {c.step}: {c.message}")

    def finish(self, checks: tuple[StepCheck, ...]) -> None:
        print()
        self.checks(list(checks))
        self._marks()


def _note(message: str) -> None:
    """What the server lacks and what is done instead (samples one at a time), on stderr, as it happens."""
    print(f"mathassist: note: {message}", file=sys.stderr, flush=True)


def _progress(message: str) -> None:
    """Say, once per message, what the model process is doing while we wait for it (on stderr)."""
    if message != getattr(_progress, "last", None):
        _progress.last = message  # type: ignore[attr-defined]
        print(f"mathassist: {message}...", file=sys.stderr, flush=True)


def status_lines(status: dict[str, Any]) -> list[str]:
    """`mathassist status` as a person reads it: no None, no raw dicts."""
    rows: list[tuple[str, str]] = []
    for key, value in status.items():
        if value is None or value == "":
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k.removesuffix('_mib')} {v} MiB" if k.endswith("_mib") else f"{k} {v}" for k, v in value.items())
        elif key == "uptime_s":
            key, value = "uptime", _duration(float(value))
        rows.append((key.replace("_", " "), str(value)))
    width = max((len(k) for k, _ in rows), default=0)
    return [f"{k:<{width}}  {v}" for k, v in rows]


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m} min" if hours else f"{m} min {s} s" if m else f"{s} s"


def _check(args: argparse.Namespace) -> int:
    """A linter for derivations, usable in CI and pre-commit (`mathassist.lint`)."""
    from mathassist.lint import run

    if args.timeout <= 0 or (args.jobs is not None and args.jobs < 1):
        print("mathassist check: --timeout must be above 0 seconds and --jobs at least 1", file=sys.stderr)
        return 2
    return run(args.files, args.format, args.timeout, args.jobs, args.cache)


def _sandbox(args: argparse.Namespace) -> int:
    """Run stdin's program in the sandbox (or describe it): the same `sandbox.run` as the tool loop."""
    from sandbox import Limits, SandboxError, protections, run

    if args.info:
        print(json.dumps(protections(), indent=2))
        return 0
    default = Limits.from_env()
    limits = Limits.of(default.wall_seconds if args.time_limit is None else args.time_limit,
                       default.memory_mib if args.memory_limit is None else args.memory_limit)
    if limits.wall_seconds <= 0 or limits.memory_mib < 64:
        print("mathassist sandbox: --time-limit must be above 0 and --memory-limit at least 64 (MiB)", file=sys.stderr)
        return 2
    try:
        result = run(sys.stdin.read(), limits)
    except SandboxError as exc:
        print(f"mathassist sandbox: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        sys.stdout.write(result.stdout)
        if result.error:
            print(result.error, file=sys.stderr)
    return 0 if result.error is None else 1


def _status() -> int:
    from model_server.client import Client

    with Client.connect(spawn=False, wait=False, model="auto") as client:
        st = client.status()
    print("\n".join(status_lines({**st, "url": client.endpoint.url})))
    return 0


def _stop() -> int:
    from model_server.client import find_endpoint, stop_process

    endpoint = find_endpoint(spawn=False, model="auto")
    if not stop_process(endpoint):
        print(f"mathassist stop: the model process (pid {endpoint.pid}) did not exit within 15 s; `kill {endpoint.pid}` ends it",
              file=sys.stderr)
        return 1
    print(f"stopped the model process (pid {endpoint.pid})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from model_server.client import ClientError
    from model_server.discovery import RuntimeDirError
    from sandbox import SandboxError

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
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "check":
            return _check(args)
        from lsp_server.server import run_stdio

        return run_stdio()
    except (ClientError, RuntimeDirError, SandboxError) as exc:
        print(f"mathassist {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mathassist solve ... | head`: the reader left; closing the stream cancelled the generation
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
