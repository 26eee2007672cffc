"""`MathServer`: the one `LanguageServer` subclass, which holds all state the features share.

As in pygls's example servers, state lives on the server: the settings, the connection to the
model, the suggester, one view per open document version, and the diagnostics of each document.
The collaborators get what they need and nothing more: the suggester reads the settings and uses
the connection; the connection tells the server (its listener) of every change of state, which
the server shows as a `mathassist/status` notification, work-done progress and, once, a message.

It lives apart from `server.py` (which builds the server and registers the features) so that the
features can import the class at run time (pygls reads command type hints) without a circle:
features -> core, server -> core + features.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from assist.connection import Connection, ConnectionState
from assist.settings import Settings, parse_settings
from assist.suggest import Suggester
from lsp_server.documents import DocumentView, view_of
from model_server import __version__

__all__ = ["DocumentDiagnostics", "MathServer"]

PROGRESS_STATES = frozenset({ConnectionState.STARTING, ConnectionState.LOADING})


class _Protocol(LanguageServerProtocol):
    """pygls 2.1 files the future of every notification that a built-in generator handles
    (didOpen, didChange, didSave...) in `_request_futures` under a fresh uuid and never removes
    it: about 2 KB per keystroke, 40 MB over 20,000 edits (bench/hardening.py). We note those
    keys and drop the finished ones at the next notification. (Not from a done-callback: pygls
    cancels every future in a loop over that dict at shutdown, and such a callback would change
    the dict under it.) pyproject.toml pins pygls to the 2.1 series this was checked against."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._notification_keys: set[Any] = set()

    def _handle_notification(self, method_name: str, params: Any) -> None:
        before = set(self._request_futures)
        super()._handle_notification(method_name, params)
        self._notification_keys |= set(self._request_futures) - before
        for key in [k for k in self._notification_keys if k not in self._request_futures or self._request_futures[k].done()]:
            self._notification_keys.discard(key)
            self._request_futures.pop(key, None)


@dataclass
class DocumentDiagnostics:
    """A document's checking state: the pending push, and the result id of the last pull report."""

    push: asyncio.Task[None] | None = None
    result_id: str | None = None


class MathServer(LanguageServer):
    """State shared by the features: settings, the model connection, the suggester, document views, diagnostics."""

    def __init__(self) -> None:
        super().__init__("mathassist", __version__, protocol_cls=_Protocol)
        self.settings = Settings()
        self.settings_generation = 0  # bumped by every change of settings: diagnostics depend on them
        self.connection = Connection(self, lambda: self.settings.server_url)
        self.suggester = Suggester(lambda: self.settings, self.connection)
        self.diagnostics: dict[str, DocumentDiagnostics] = {}
        self._views: dict[str, DocumentView] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._progress: asyncio.Task[str | None] | None = None

    def view(self, uri: str) -> DocumentView | None:
        """The open document's view at its current version; None for a document that is not open
        (pygls would read it from disk)."""
        if uri not in self.workspace.text_documents:
            self._views.pop(uri, None)
            return None
        doc = self.workspace.get_text_document(uri)
        view = self._views.get(uri)
        if view is None or view.version != doc.version or view._doc is not doc:
            view = self._views[uri] = view_of(doc)
        return view

    def forget(self, uri: str) -> None:
        """A document was closed: drop its view and its diagnostics state."""
        self._views.pop(uri, None)
        state = self.diagnostics.pop(uri, None)
        if state is not None and state.push is not None:
            state.push.cancel()

    def served_view(self, uri: str) -> DocumentView | None:
        """The view of an open document in a language the settings turn on, else None."""
        view = self.view(uri)
        return view if view is not None and self.settings.enabled_for(view.language_id) else None

    def run_in_background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine on the server's loop, holding a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def apply_settings(self, raw: object) -> None:
        """Validate and apply settings; report each invalid value by its full name."""
        old = self.settings
        self.settings, errors = parse_settings(raw, self.settings)
        for message in errors:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"mathassist: {message}"))
        if self.settings != old:
            self.settings_generation += 1
        if self.settings.server_url != old.server_url:
            self.connection.reset()
        if self.settings.show_verified != old.show_verified and self._can_refresh_hints():
            self.run_in_background(self.workspace_inlay_hint_refresh_async(None))  # the editor asks again for the marks

    def _can_refresh_hints(self) -> bool:
        caps = self.client_capabilities
        return bool(caps and caps.workspace and caps.workspace.inlay_hint and caps.workspace.inlay_hint.refresh_support)

    # -- the connection's listener: status bar, progress, one message --

    def state_changed(self, state: ConnectionState, detail: str) -> None:
        """Tell the client (`mathassist/status`, for status bars) and show starting/loading as work-done progress."""
        self.protocol.notify("mathassist/status", {"state": str(state), "message": detail})
        if state in PROGRESS_STATES:
            if self._progress is None:
                self._progress = asyncio.ensure_future(self._begin_progress(detail))
            else:
                self.run_in_background(self._report_progress(self._progress, detail))
        elif self._progress is not None:
            self.run_in_background(self._end_progress(self._progress, str(state)))
            self._progress = None

    def unreachable(self, message: str, first: bool) -> None:
        """Log every failure; show the first one since the model last answered, with what to do."""
        self.window_log_message(types.LogMessageParams(types.MessageType.Warning, message))
        if first:
            self.window_show_message(types.ShowMessageParams(
                types.MessageType.Error,
                f"mathassist: {message.rstrip('.')}. It will retry on the next request; "
                "check `mathassist status` in a terminal or the mathassist.serverUrl setting.",
            ))

    def note(self, message: str) -> None:
        """What the server lacks and what is done instead: shown once (the client notes each once)."""
        self.window_log_message(types.LogMessageParams(types.MessageType.Info, message))
        self.window_show_message(types.ShowMessageParams(types.MessageType.Info, f"mathassist: {message}."))

    async def _begin_progress(self, message: str) -> str | None:
        """A progress token the client accepted (None where it cannot show progress)."""
        caps = self.client_capabilities
        if not (caps and caps.window and caps.window.work_done_progress):
            return None
        token = f"mathassist-{uuid.uuid4().hex[:8]}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception:  # the client may refuse progress; completions still work without it
            return None
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="mathassist", message=message, cancellable=False))
        return token

    async def _report_progress(self, started: asyncio.Task[str | None], message: str) -> None:
        token = await started  # reports wait for the token; tasks waiting on one future resume in order
        if token is not None:
            self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

    async def _end_progress(self, started: asyncio.Task[str | None], message: str) -> None:
        token = await started
        if token is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
