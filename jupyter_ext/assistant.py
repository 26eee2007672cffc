"""`NotebookAssistant`: the one object that holds the server extension's state.

As the language server's `MathServer` does for an editor, it owns the settings (what JupyterLab's
settings editor sent last), the connection to the shared model process, the suggester, and what
the status bar shows. The handlers (`jupyter_ext.handlers`) parse a request and call one method.

- `suggest`: the next step at the cursor, through `assist.suggest.Suggester` exactly as the
  language server asks it (debounce, typing along, superseding, the checker filter `verify`);
  one generation in flight per notebook. A request the browser aborts is cancelled here
  (`asyncio` cancellation), and with it the model's generation, as `$/cancelRequest` does.
- `check`: the wrong steps of a Markdown cell, decided by the checker in its time-bounded workers
  (in a thread: the server's event loop never waits on sympy).
- `status`: the connection's state and the last "cannot reach the model" notice, for the status
  bar; a notice is new (its id grows) only when the user has not been told since it last worked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import checker
from assist.connection import Connection, ConnectionState
from assist.settings import Settings, parse_settings
from assist.suggest import Suggester
from jupyter_ext.cells import SuggestRequest, document_at, utf16_offset
from mathcore.languages import Language
from model_server.client import ClientError

__all__ = ["Mark", "NotebookAssistant"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mark:
    """A wrong step in a cell: its span in UTF-16 units (CodeMirror's), the message, the counterexample."""

    start: int
    end: int
    line: int  # 1-based, as the checker counts
    message: str
    step: str
    counterexample: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end, "line": self.line, "message": self.message, "step": self.step,
                "counterexample": self.counterexample}


def marks_of(results: list[checker.Result], source: str) -> list[Mark]:
    """One mark per wrong step, from the claim's column to the end of its line (as the editor's squiggle)."""
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    lines = source.split("\n")
    out = []
    for r in results:
        if r.verdict != "wrong" or not 1 <= r.line <= len(lines):
            continue
        text = lines[r.line - 1]
        begin = starts[r.line - 1] + min(r.column - 1, len(text))
        end = starts[r.line - 1] + max(len(text.rstrip()), r.column)
        out.append(Mark(utf16_offset(source, begin), utf16_offset(source, min(end, len(source))), r.line,
                        f"wrong step: {r.step}: {r.message}", r.step, r.counterexample))
    return out


class NotebookAssistant:
    """Settings, the model connection, the suggester, and the status the browser polls."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.enabled = True
        self.connection = Connection(self, lambda: self.settings.server_url)
        self.suggester = Suggester(lambda: self.settings, self.connection)
        self.notice: dict[str, Any] | None = None
        self._notices = 0
        self._background: set[asyncio.Task[Any]] = set()

    # -- what the handlers call --

    def apply_settings(self, raw: Any) -> list[str]:
        """Validate and apply JupyterLab's settings (the VS Code shape, plus `enabled`); the errors name the setting.

        JupyterLab sends the whole composite each time (its defaults with the user's values over
        them), so a value left out means its default, not the value before."""
        errors: list[str] = []
        if isinstance(raw, dict) and "enabled" in raw:
            if isinstance(raw["enabled"], bool):
                self.enabled = raw["enabled"]
            else:
                errors.append(f"mathassist.enabled must be true or false, got {raw['enabled']!r}")
        old = self.settings
        self.settings, more = parse_settings(raw, Settings())
        if self.settings.server_url != old.server_url:
            self.connection.reset()
        return errors + more

    def warm_up(self) -> None:
        """Start the model process and the checker's workers now, so they are ready when the user types."""
        if self.enabled:
            self._in_background(self._warm_up())

    async def suggest(self, request: SuggestRequest) -> str | None:
        """The ghost text at the request's cursor; None where there is none, it is off, or it was superseded."""
        at = document_at(request.cells, request.offset)
        if at is None or not self.enabled or not self.settings.enabled_for(Language.MARKDOWN):
            return None
        version = int.from_bytes(hashlib.blake2b(at.text.encode(), digest_size=8).digest())  # the text is the version
        try:
            return await self.suggester.next_step(request.notebook, version, at, request.explicit)
        except ClientError:
            return None  # the connection told the user once (status bar); typing goes on

    async def check(self, source: str) -> list[Mark]:
        """The wrong steps of one Markdown cell (none where checking is off)."""
        if not self.enabled or not self.settings.enabled_for(Language.MARKDOWN):
            return []
        source = source.replace("\r\n", "\n")
        results = await asyncio.to_thread(checker.check_document, source, Language.MARKDOWN)
        return marks_of(results, source)

    def status(self) -> dict[str, Any]:
        """What the status bar shows."""
        return {"enabled": self.enabled, "state": str(self.connection.state), "message": self.connection.detail, "notice": self.notice}

    # -- the connection's listener --

    def state_changed(self, state: ConnectionState, detail: str) -> None:
        log.info("mathassist model process: %s %s", state, detail)
        if state is ConnectionState.READY:
            self.notice = None  # it works again: a page opened now has nothing to be told

    def unreachable(self, message: str, first: bool) -> None:
        log.warning("mathassist cannot reach the model process: %s", message)
        if first:
            self._notices += 1
            self.notice = {"id": self._notices, "message": (
                f"mathassist: {message.rstrip('.')}. It will retry on the next request; check `mathassist status` "
                "in a terminal or the serverUrl setting.")}

    def note(self, message: str) -> None:
        """What the server lacks and the client does instead (samples one at a time): in the server's
        log; the status bar's notices are errors, and this is not one."""
        log.info("mathassist: %s", message)

    async def _warm_up(self) -> None:
        with contextlib.suppress(ClientError):  # told once through `unreachable`; requests retry
            await self.connection.client()
        await asyncio.to_thread(checker.start)

    def _in_background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
