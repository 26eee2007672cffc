"""The command `mathassist.status`: the connection state and, when connected, the model process's
own status (model, device, requests running and queued). Clients also receive every change of
state as a `mathassist/status` notification ({state, message}) for their status bars."""

from __future__ import annotations

from typing import Any

from lsp_server.core import MathServer  # at run time: pygls reads the command's type hints
from model_server.client import ClientError

COMMAND = "mathassist.status"


def register(server: MathServer) -> None:
    @server.command(COMMAND)
    async def status(ls: MathServer) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            client = await ls.connection.client()
            out["server"] = await client.status()
        except ClientError as exc:
            out["error"] = str(exc).splitlines()[0]
        return {"state": str(ls.connection.state), "message": ls.connection.detail, **out}
