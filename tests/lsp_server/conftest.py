"""A real LSP client (pytest-lsp) talking to `mathassist lsp`, which talks to the session's model process."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.conftest import RunningServer


async def start_lsp(env: dict[str, str], options: dict[str, Any] | None = None) -> LanguageClient:
    client = make_test_lsp_client()
    client.picked = []  # type: ignore[attr-defined]
    client.applied = []  # type: ignore[attr-defined]

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def pick_first(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        client.picked.append(params)  # type: ignore[attr-defined]
        return params.actions[0] if params.actions else None

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied.append(params)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=True)

    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env=env)
    result = await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options=options or {"inline": {"debounceMs": 0}},
    ))
    client.server_capabilities = result.capabilities  # type: ignore[attr-defined]
    return client


@pytest_asyncio.fixture
async def lsp(server: RunningServer) -> AsyncIterator[LanguageClient]:
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)}
    env.pop("MATHASSIST_URL", None)
    client = await start_lsp(env)
    yield client
    await client.shutdown_session()


def open_doc(client: LanguageClient, uri: str, text: str, language: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))


def end_of(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))
