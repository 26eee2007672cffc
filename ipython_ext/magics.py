"""`%%solve`, `%solve_config`, `%solve_status`: the notebook front end.

The cell body is the problem, passed untouched (`@no_var_expand`: no `$x` or `{y}` expansion).
Every flag's default is a `config=True` trait of `SolveMagics`, so `%config
SolveMagics.temperature = 0.3` and `ipython_config.py` work, and a flag overrides it for one
cell. The solution streams into one display (a display handle updated at most every
`update_interval` seconds) and the cell's value is a `SolveResult`. The derivation checker reads
the solution's equations as they stream (`SolveMagics.check`, `--no-check` for one cell): a refuted
step is marked under it with its counterexample, and the answer of such a solution is flagged.

Errors never show a traceback of ours: a bad flag is a UsageError that names it, and a model
process that cannot be reached raises `SolveError`, which IPython renders as its one line.
Ctrl-C closes the stream, which cancels the generation in the model process, shows the partial
text marked interrupted, and re-raises KeyboardInterrupt (rendered as one line, not the frames
of the HTTP library it interrupted) so queued cells stop. While the model process starts or
loads, the output says so.

Flags, trait defaults and help texts come from `mathcore.sampling.PARAMS`, the table every
front end shares.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import Markdown, display
from traitlets import Bool, Float, Int, TraitType, Unicode, default

from assist import solve
from mathcore.sampling import PARAMS, InvalidParameter, Param, SamplingParams
from mathcore.solution import SolveResult, StepCheck, jupyter_markdown, mark_refuted
from mathcore.tools import MAX_TOOL_ROUNDS, tool_rounds
from model_server.client import Client, ClientError
from sandbox import Limits, SandboxError

__all__ = ["SolveError", "SolveMagics"]

FIELDS = tuple(p.name for p in PARAMS)
FLAGS = {p.name: p.flag for p in PARAMS}
SPEC = {p.name: p for p in PARAMS}


class SolveError(Exception):
    """The model process failed or cannot be reached; shown as one line, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"SolveError: {self}"]


def _trait(p: Param) -> TraitType[Any, Any]:
    kind: Any = Int if p.integer else Float
    trait: TraitType[Any, Any] = kind(p.default, allow_none=p.default is None, help=p.help_line()).tag(config=True)
    return trait


def _sampling_flags(func: Any) -> Any:
    """`@argument` for every parameter of the table, in its order, under `@magic_arguments()`."""
    for p in reversed(PARAMS):
        func = argument(*p.flags(), dest=p.name, type=int if p.integer else float, help=p.help_line())(func)
    return magic_arguments()(func)


@magics_class
class SolveMagics(Magics):
    """Solve the problem in the cell with the shared mathassist model process."""

    temperature = _trait(SPEC["temperature"])
    top_k = _trait(SPEC["top_k"])
    top_p = _trait(SPEC["top_p"])
    max_new_tokens = _trait(SPEC["max_new_tokens"])
    samples = _trait(SPEC["samples"])
    seed = _trait(SPEC["seed"])
    check = Bool(True, help="check the equations of solutions with the derivation checker; refuted steps are marked").tag(config=True)
    tools = Bool(False, help="let the model write Python that runs in the sandbox (DeepSeekMath's tool-integrated format)").tag(config=True)
    max_tool_rounds = Int(2, help=f"programs run per solution at most, 1 to {MAX_TOOL_ROUNDS}").tag(config=True)
    tool_time_limit = Float(help="wall-clock seconds a program may run in the sandbox (default 10, or $MATHASSIST_SANDBOX_TIME)").tag(config=True)
    tool_memory_limit = Int(help="memory (MiB) a program may use in the sandbox (default 1024, or $MATHASSIST_SANDBOX_MEMORY)").tag(config=True)
    update_interval = Float(0.1, help="seconds between display updates while streaming").tag(config=True)
    model = Unicode("", help="model for a process this kernel starts (default: $MATHASSIST_MODEL or auto)").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._client: Client | None = None

    @default("tool_time_limit")
    def _time_from_env(self) -> float:  # as the CLI: the environment, else the sandbox's default
        return Limits.from_env().wall_seconds

    @default("tool_memory_limit")
    def _memory_from_env(self) -> int:
        return Limits.from_env().memory_mib

    def _defaults(self) -> SamplingParams:
        names = {f: f"SolveMagics.{f}" for f in FIELDS}
        try:
            return SamplingParams.create(names=names, **{f: getattr(self, f) for f in FIELDS})
        except InvalidParameter as exc:
            raise UsageError(f"{exc} (set it with %config)") from None

    def _params(self, args: Any) -> SamplingParams:
        base = self._defaults()
        given = {f: getattr(args, f) for f in FIELDS if getattr(args, f) is not None}
        try:
            return SamplingParams.create(names=FLAGS, **{**_fields(base), **given})
        except InvalidParameter as exc:
            raise UsageError(str(exc)) from None

    def _connect(self) -> Client:
        if self._client is None:
            notice = _Notice(rich=getattr(self.shell, "kernel", None) is not None)
            try:
                self._client = Client.connect(model=self.model or None, on_wait=notice.show)
            except ClientError as exc:
                raise SolveError(str(exc)) from None
            finally:
                notice.clear()
        return self._client

    @_sampling_flags
    @argument("--no-check", dest="check", action="store_false", default=None, help="do not check the solution's equations")
    @argument("--tools", action="store_true", default=None, help="let the model write Python that runs in the sandbox")
    @argument("--max-tool-rounds", dest="max_tool_rounds", type=int, help=f"programs run per solution at most, 1 to {MAX_TOOL_ROUNDS}")
    @no_var_expand
    @cell_magic
    def solve(self, line: str, cell: str) -> SolveResult:
        """Solve the problem in this cell step by step; flags override the SolveMagics defaults."""
        args = parse_argstring(self.solve, line)
        params = self._params(args)
        try:
            rounds = tool_rounds(self.max_tool_rounds if args.max_tool_rounds is None else args.max_tool_rounds)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            limits = Limits.of(self.tool_time_limit, self.tool_memory_limit)
        except SandboxError as exc:
            raise UsageError(f"{exc}; or set %config SolveMagics.tool_time_limit and tool_memory_limit") from None
        if not cell.strip():
            raise UsageError("%%solve needs a problem in the cell body, for example: Solve for $x$: $2x + 3 = 7$.")
        client = self._connect()
        view = _Stream(self.update_interval, rich=getattr(self.shell, "kernel", None) is not None)
        try:
            result = solve(client, cell, params, on_text=view.update, on_interrupt=view.interrupted,
                           tools=bool(args.tools or self.tools), max_tool_rounds=rounds, limits=limits,
                           check=self.check if args.check is None else args.check, on_checks=view.checked)
        except ClientError as exc:
            self._client = None  # reconnect (or respawn) on the next cell
            raise SolveError(str(exc)) from None
        except SandboxError as exc:
            raise SolveError(str(exc)) from None
        except KeyboardInterrupt as exc:
            # one line instead of the frames of the HTTP library that the interrupt landed in
            exc._render_traceback_ = lambda: ["KeyboardInterrupt: the generation was cancelled; the partial solution is above"]  # type: ignore[attr-defined]
            raise
        view.done()
        return result

    @line_magic
    def solve_config(self, line: str = "") -> None:
        """Show the effective %%solve defaults and where the model process is found."""
        params = self._defaults()
        rows = [f"{name:<16}{getattr(params, name)!s:<10}%config SolveMagics.{name} = ..." for name in FIELDS]
        where = os.environ.get("MATHASSIST_URL") or "the shared local process (server.json in the runtime folder)"
        print("\n".join([*rows, f"{'update_interval':<16}{self.update_interval}", f"{'server':<16}{where}"]))

    @line_magic
    def solve_status(self, line: str = "") -> None:
        """Show the model process: model, device, requests running and queued."""
        try:
            st = self._connect().status()
        except ClientError as exc:
            self._client = None
            raise SolveError(str(exc)) from None
        print("\n".join(f"{k:<16}{v}" for k, v in st.items()))


def _fields(p: SamplingParams) -> dict[str, Any]:
    return {f: getattr(p, f) for f in FIELDS}


class _Notice:
    """What the model process is doing while the kernel waits for it (starting, loading).

    The line stays, in its final form (ready after N s), so the cell records why it took longer.
    """

    def __init__(self, rich: bool) -> None:
        self.rich, self.handle, self.last = rich, None, ""
        self.started = time.monotonic()

    def show(self, message: str) -> None:
        if message == self.last:
            return
        self.last = message
        self._put(f"mathassist: {message}...")

    def clear(self) -> None:
        if self.last:
            self._put(f"mathassist: the model process is ready ({time.monotonic() - self.started:.0f} s)")

    def _put(self, line: str) -> None:
        if not self.rich:
            print(line, file=sys.stderr, flush=True)
        elif self.handle is None:
            self.handle = display(Markdown(f"*{line}*"), display_id=True)
        else:
            self.handle.update(Markdown(f"*{line}*"))


class _Stream:
    """One display that follows the streamed text, updated at most every `interval` seconds."""

    def __init__(self, interval: float, rich: bool) -> None:
        self.interval, self.rich = interval, rich
        self.last = 0.0
        self.printed = 0
        self.handle = display(Markdown("*solving...*"), display_id=True) if rich else None
        self.checks: list[StepCheck] = []

    def checked(self, checks: list[StepCheck]) -> None:
        """The checker's verdicts so far (called from its thread: kept for the next update, which
        runs in the kernel's thread, where display output belongs to this cell)."""
        self.checks = checks

    def update(self, texts: list[str]) -> None:
        now = time.monotonic()
        if self.handle is not None:
            if now - self.last >= self.interval:
                self.last = now
                self.handle.update(Markdown(jupyter_markdown(mark_refuted(texts[0], self.checks))))
        else:
            sys.stdout.write(texts[0][self.printed:])
            sys.stdout.flush()
            self.printed = len(texts[0])

    def interrupted(self, partial: SolveResult) -> None:
        if self.handle is not None:
            self.handle.update(Markdown(jupyter_markdown(mark_refuted(partial.text, partial.checks)) + "\n\n*(interrupted)*"))
        else:
            print("\n(interrupted)")

    def done(self) -> None:
        if self.handle is not None:
            self.handle.update(Markdown(""))  # the cell's value shows the full result below
        elif self.printed:
            print()
