"""`MathServer`: the one `LanguageServer` subclass that holds all state the features share.

It lives apart from `server.py` (which builds the server and registers the features) so that the
features can import the class at run time (pygls reads command type hints) without a circle:
features -> core, server -> core + features.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from checker import Checker
from lsp_server.gateway import ModelGateway
from lsp_server.settings import Settings, parse_settings
from lsp_server.suggest import Suggester
from model_server import __version__

__all__ = ["MathServer"]


class _Protocol(LanguageServerProtocol):
    """pygls 2.1.1 files the future of every notification that a built-in generator handles
    (didOpen, didChange, didSave...) in `_request_futures` under a fresh uuid and never removes
    it: about 2 KB per keystroke, 40 MB over 20,000 edits (bench/hardening.py). We note those
    keys and drop the finished ones at the next notification. (Not from a done-callback: pygls
    cancels every future in a loop over that dict at shutdown, and such a callback would change
    the dict under it.)"""

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


class MathServer(LanguageServer):
    """State shared by the features: settings, the model gateway, the suggester."""

    def __init__(self) -> None:
        super().__init__("mathassist", __version__, protocol_cls=_Protocol)
        self.settings = Settings()
        self.gateway = ModelGateway(self)
        self.suggester = Suggester(self)
        self.checker = Checker()  # its workers start on the first check; the language server's own
        self._background: set[asyncio.Task[Any]] = set()

    def run_in_background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine on the server's loop, holding a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def apply_settings(self, raw: object) -> None:
        """Validate and apply settings; report each invalid value by its full name."""
        old_url, old_marks = self.settings.server_url, self.settings.show_verified
        self.settings, errors = parse_settings(raw, self.settings)
        for message in errors:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"mathassist: {message}"))
        if self.settings.server_url != old_url:
            self.gateway.reset()
        if self.settings.show_verified != old_marks and self._can_refresh_hints():
            self.run_in_background(self.workspace_inlay_hint_refresh_async(None))  # the editor asks again for the marks

    def _can_refresh_hints(self) -> bool:
        caps = self.client_capabilities
        return bool(caps and caps.workspace and caps.workspace.inlay_hint and caps.workspace.inlay_hint.refresh_support)
