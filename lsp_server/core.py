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

from lsp_server.gateway import ModelGateway
from lsp_server.settings import Settings, parse_settings
from lsp_server.suggest import Suggester
from model_server import __version__

__all__ = ["MathServer"]


class MathServer(LanguageServer):
    """State shared by the features: settings, the model gateway, the suggester."""

    def __init__(self) -> None:
        super().__init__("mathassist", __version__)
        self.settings = Settings()
        self.gateway = ModelGateway(self)
        self.suggester = Suggester(self)
        self._background: set[asyncio.Task[Any]] = set()

    def run_in_background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine on the server's loop, holding a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def apply_settings(self, raw: object) -> None:
        """Validate and apply settings; report each invalid value by its full name."""
        old_url = self.settings.server_url
        self.settings, errors = parse_settings(raw, self.settings)
        for message in errors:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"mathassist: {message}"))
        if self.settings.server_url != old_url:
            self.gateway.reset()
