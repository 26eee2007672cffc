"""Build the language server (`create_server`) and run it on stdio (`run_stdio`).

Features live one per module under `lsp_server/features/`; each has a `register(server)`.
Nothing here writes to stdout: that is the protocol's channel. Logs go to stderr and to
`window/logMessage`.
"""

from __future__ import annotations

import logging
import os
import sys

from lsp_server.core import MathServer
from lsp_server.features import register_all

__all__ = ["MathServer", "create_server", "run_stdio"]


def create_server() -> MathServer:
    """A `MathServer` with every feature registered (what `mathassist lsp` runs, and what tests may drive)."""
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
