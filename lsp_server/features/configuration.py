"""`initialize` options, `initialized` (pull `workspace/configuration`), `workspace/didChangeConfiguration`.

Settings come first from `initializationOptions`, then from the client's configuration section
`mathassist` once the session is up, then from every change notification. `initialized` also
starts the model connection, so the process is loading while the user types.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from lsprotocol import types

from model_server.client import ClientError

if TYPE_CHECKING:
    from lsp_server.core import MathServer


def register(server: MathServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: MathServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: MathServer, params: types.InitializedParams) -> None:
        await _pull_configuration(ls)
        ls.run_in_background(_warm_up(ls))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: MathServer, params: types.DidChangeConfigurationParams) -> None:
        if isinstance(params.settings, dict) and params.settings:
            ls.apply_settings(params.settings)
        else:
            await _pull_configuration(ls)


async def _pull_configuration(ls: MathServer) -> None:
    caps = ls.client_capabilities
    if not (caps and caps.workspace and caps.workspace.configuration):
        return
    try:
        result = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="mathassist")])
        )
    except Exception as exc:  # a client without the section answers with an error; defaults stay
        ls.window_log_message(types.LogMessageParams(types.MessageType.Log, f"no workspace configuration: {exc}"))
        return
    if result and result[0]:
        ls.apply_settings(result[0])


async def _warm_up(ls: MathServer) -> None:
    with contextlib.suppress(ClientError):  # already reported once to the user; requests retry
        await ls.connection.client()
