"""One module per LSP feature; `register_all` wires them onto a server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lsp_server.server import MathServer

__all__ = ["register_all"]


def register_all(server: MathServer) -> None:
    from lsp_server.features import completion, configuration, inline_completion, proof_steps, status

    for feature in (configuration, inline_completion, completion, proof_steps, status):
        feature.register(server)
