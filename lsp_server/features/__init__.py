"""One module per LSP feature; `register_all` wires them onto a server."""

from __future__ import annotations

from lsp_server.core import MathServer
from lsp_server.features import code_actions, completion, configuration, diagnostics, inlay_hints, inline_completion, proof_steps, status

__all__ = ["register_all"]


def register_all(server: MathServer) -> None:
    for feature in (configuration, inline_completion, completion, proof_steps, code_actions, status, diagnostics, inlay_hints):
        feature.register(server)
