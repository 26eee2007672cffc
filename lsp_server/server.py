"""The `MathServer` (one `LanguageServer` subclass holding all state) and `run_stdio`.

Features live one per module under `lsp_server/features/`; each has a `register(server)`.
Nothing here writes to stdout: that is the protocol's channel. Logs go to stderr and to
`window/logMessage`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from lsp_server.gateway import ModelGateway
from lsp_server.settings import Settings, parse_settings
from lsp_server.suggest import Suggester
from model_server import __version__

__all__ = ["MathServer", "create_server", "run_stdio"]

log = logging.getLogger(__name__)


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


def create_server() -> MathServer:
    from lsp_server.features import register_all

    server = MathServer()
    register_all(server)
    return server


def run_stdio() -> int:
    """What `mathassist lsp` runs: the server on stdin/stdout, logging to stderr."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="mathassist-lsp %(levelname)s %(name)s: %(message)s")
    level = os.environ.get("MATHASSIST_LSP_LOG", "INFO").upper()
    logging.getLogger("lsp_server").setLevel(level)
    if level == "DEBUG":  # every LSP message, for diagnosing a client
        logging.getLogger("pygls.protocol").setLevel(level)
    create_server().start_io()
    return 0
