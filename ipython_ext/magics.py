"""`%%solve`, `%solve_config`, `%solve_status`: the notebook front end.

The cell body is the problem, passed untouched (`@no_var_expand`: no `$x` or `{y}` expansion).
Every flag's default is a `config=True` trait of `SolveMagics`, so `%config
SolveMagics.temperature = 0.3` and `ipython_config.py` work, and a flag overrides it for one
cell. The solution streams into one display (a display handle updated at most every
`update_interval` seconds) and the cell's value is a `SolveResult`.

Errors never show a traceback of ours: a bad flag is a UsageError that names it, and a model
process that cannot be reached raises `SolveError`, which IPython renders as its one line.
Ctrl-C closes the stream, which cancels the generation in the model process, shows the partial
text marked interrupted, and re-raises KeyboardInterrupt so queued cells stop.
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
from traitlets import Float, Int, Unicode

from mathcore.sampling import InvalidParameter, SamplingParams
from mathcore.solution import SolveResult, jupyter_markdown
from model_server.client import Client, ClientError, solve

__all__ = ["SolveError", "SolveMagics"]

FIELDS = ("temperature", "top_k", "top_p", "max_new_tokens", "samples", "seed")
FLAGS = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p",
         "max_new_tokens": "--max-new-tokens", "samples": "--samples", "seed": "--seed"}


class SolveError(Exception):
    """The model process failed or cannot be reached; shown as one line, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"SolveError: {self}"]


@magics_class
class SolveMagics(Magics):
    """Solve the problem in the cell with the shared mathassist model process."""

    temperature = Float(0.0, help="sampling temperature, 0 to 2 (0 = greedy, as DeepSeekMath is evaluated)").tag(config=True)
    top_k = Int(0, help="top-k cut-off (0 = off)").tag(config=True)
    top_p = Float(1.0, help="nucleus sampling, (0, 1]").tag(config=True)
    max_new_tokens = Int(1024, help="tokens to generate at most (DeepSeekMath's evaluation uses 1024)").tag(config=True)
    samples = Int(1, help="independent samples; more than 1 votes on the answer (maj@k)").tag(config=True)
    seed = Int(None, allow_none=True, help="seed for reproducible sampling").tag(config=True)
    update_interval = Float(0.1, help="seconds between display updates while streaming").tag(config=True)
    model = Unicode("", help="model for a process this kernel starts (default: $MATHASSIST_MODEL or auto)").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._client: Client | None = None

    def _defaults(self) -> SamplingParams:
        names = {f: f"SolveMagics.{f}" for f in FIELDS}
        try:
            return SamplingParams.create(names=names, max_samples=64, **{f: getattr(self, f) for f in FIELDS})
        except InvalidParameter as exc:
            raise UsageError(f"{exc} (set it with %config)") from None

    def _params(self, args: Any) -> SamplingParams:
        base = self._defaults()
        given = {f: getattr(args, f) for f in FIELDS if getattr(args, f) is not None}
        try:
            return SamplingParams.create(names=FLAGS, max_samples=64, **{**_fields(base), **given})
        except InvalidParameter as exc:
            raise UsageError(str(exc)) from None

    def _connect(self) -> Client:
        if self._client is None:
            try:
                self._client = Client.connect(model=self.model or None)
            except ClientError as exc:
                raise SolveError(str(exc)) from None
        return self._client

    @magic_arguments()
    @argument("-t", "--temperature", type=float, help="0 to 2; 0 is greedy")
    @argument("-k", "--top-k", dest="top_k", type=int, help="integer >= 0; 0 is off")
    @argument("-p", "--top-p", dest="top_p", type=float, help="in (0, 1]")
    @argument("-n", "--max-new-tokens", dest="max_new_tokens", type=int, help="tokens to generate at most")
    @argument("-s", "--samples", type=int, help="samples to vote over")
    @argument("--seed", type=int, help="seed for reproducible sampling")
    @no_var_expand
    @cell_magic
    def solve(self, line: str, cell: str) -> SolveResult:
        """Solve the problem in this cell step by step; flags override the SolveMagics defaults."""
        args = parse_argstring(self.solve, line)
        params = self._params(args)
        if not cell.strip():
            raise UsageError("%%solve needs a problem in the cell body, for example: Solve for $x$: $2x + 3 = 7$.")
        client = self._connect()
        view = _Stream(self.update_interval, rich=getattr(self.shell, "kernel", None) is not None)
        try:
            result = solve(client, cell, params, on_text=view.update, on_interrupt=view.interrupted)
        except ClientError as exc:
            self._client = None  # reconnect (or respawn) on the next cell
            raise SolveError(str(exc)) from None
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


class _Stream:
    """One display that follows the streamed text, updated at most every `interval` seconds."""

    def __init__(self, interval: float, rich: bool) -> None:
        self.interval, self.rich = interval, rich
        self.last = 0.0
        self.printed = 0
        self.handle = display(Markdown("*solving...*"), display_id=True) if rich else None

    def update(self, texts: list[str]) -> None:
        now = time.monotonic()
        if self.handle is not None:
            if now - self.last >= self.interval:
                self.last = now
                self.handle.update(Markdown(jupyter_markdown(texts[0])))
        else:
            sys.stdout.write(texts[0][self.printed:])
            sys.stdout.flush()
            self.printed = len(texts[0])

    def interrupted(self, partial: SolveResult) -> None:
        if self.handle is not None:
            self.handle.update(Markdown(jupyter_markdown(partial.text) + "\n\n*(interrupted)*"))
        else:
            print("\n(interrupted)")

    def done(self) -> None:
        if self.handle is not None:
            self.handle.update(Markdown(""))  # the cell's value shows the full result below
        elif self.printed:
            print()
