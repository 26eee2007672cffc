"""Wrong derivation steps as diagnostics, through a real LSP client: pulled by clients that ask
(VS Code), pushed after a pause to clients that do not; only the wrong row speaks."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.lsp_server.conftest import open_doc

DOC = ("We expand and solve.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= x^2 + 8x + 16 \\\\\n"
       "2x + 3 &= 7 \\\\\n2x &= 4\n\\end{align*}\nLet \\[ f(x) = x^2 + 1 \\] be a definition.\n")


async def start(tmp_path: Path, pull: bool, options: dict | None = None):  # type: ignore[no-untyped-def, type-arg]
    client = make_test_lsp_client()
    env = {**os.environ, "MATHASSIST_URL": "http://127.0.0.1:9", "MATHASSIST_RUNTIME_DIR": str(tmp_path)}  # no model needed
    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env=env)
    caps = client_capabilities("visual-studio-code")
    # vscode-languageclient 11 asks for diagnostics itself (pull); pytest-lsp's preset predates that
    caps.text_document.diagnostic = types.DiagnosticClientCapabilities(dynamic_registration=False) if pull else None  # type: ignore[union-attr]
    result = await client.initialize_session(types.InitializeParams(capabilities=caps, initialization_options=options or {}))
    return client, result.capabilities


def check_wrong_row_only(items: list[types.Diagnostic]) -> None:
    assert len(items) == 1, items
    d = items[0]
    assert d.range.start.line == 3 and d.severity == types.DiagnosticSeverity.Warning
    assert d.source == "mathassist" and d.code == "wrong-step"
    assert "at x = " in d.message and "the left side is" in d.message
    assert d.data["counterexample"]["at"]["x"]


@pytest.mark.slow
async def test_pull_diagnostics_name_a_counterexample_on_the_wrong_row_only(tmp_path: Path) -> None:
    client, caps = await start(tmp_path, pull=True)
    try:
        assert caps.diagnostic_provider is not None
        uri = "file:///work/derivation.tex"
        open_doc(client, uri, DOC, "latex")
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        check_wrong_row_only(report.items)
        await asyncio.sleep(1.0)
        assert client.diagnostics == {}, "a pull client gets no pushed duplicates"
        # asked again with its result id while nothing changed: "unchanged", and no re-check
        assert report.result_id
        again = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id))
        assert again.kind == "unchanged" and again.result_id == report.result_id
        # an edit (a new version) makes the old id stale: a full report again
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=DOC.replace("x^2 + 8x + 16", "x^2 + 8x + 15"))]))
        fresh = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id))
        assert fresh.kind == "full" and not fresh.items and fresh.result_id != report.result_id
    finally:
        await client.shutdown_session()


@pytest.mark.slow
async def test_push_diagnostics_after_a_pause_in_typing(tmp_path: Path) -> None:
    client, _ = await start(tmp_path, pull=False)
    try:
        uri = "file:///work/derivation.tex"
        open_doc(client, uri, DOC, "latex")
        for _ in range(150):
            if client.diagnostics.get(uri):
                break
            await asyncio.sleep(0.1)
        check_wrong_row_only(client.diagnostics[uri])

        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
        gone = "file:///nowhere/closed-during-the-pause.tex"  # not on disk: nothing may try to read it
        open_doc(client, gone, DOC, "latex")
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(gone)))
        await asyncio.sleep(1.5)
        assert list(client.diagnostics[uri]) == [] and list(client.diagnostics[gone]) == [], "a closed document's warnings go with it"
        assert not [m for m in client.log_messages if m.type == types.MessageType.Error], client.log_messages
        open_doc(client, uri, DOC, "latex")  # and the server still checks
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri)))
        check_wrong_row_only(report.items)
    finally:
        await client.shutdown_session()


@pytest.mark.slow
async def test_verified_steps_get_a_subtle_mark_only_when_asked(tmp_path: Path) -> None:
    client, caps = await start(tmp_path, pull=True, options={"checks": {"showVerified": True}})
    try:
        assert caps.inlay_hint_provider is not None
        uri = "file:///work/derivation.tex"
        open_doc(client, uri, DOC, "latex")
        whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=20, character=0))
        hints = await client.text_document_inlay_hint_async(types.InlayHintParams(types.TextDocumentIdentifier(uri), whole))
        lines = DOC.split("\n")
        # rows 3 (the expansion) and 6 (2x = 4) are verified; row 4 is wrong, the definition is no claim
        assert [(h.position.line, h.position.character, h.label) for h in hints or []] == [
            (2, len(lines[2].rstrip()), "✓"), (5, len(lines[5]), "✓")]
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams({"checks": {"showVerified": False}}))
        hints = await client.text_document_inlay_hint_async(types.InlayHintParams(types.TextDocumentIdentifier(uri), whole))
        assert not hints
    finally:
        await client.shutdown_session()


@pytest.mark.slow
async def test_a_rounded_value_is_information_and_a_wrong_step_a_warning(tmp_path: Path) -> None:
    client, _ = await start(tmp_path, pull=True)
    try:
        uri = "file:///work/rounded.tex"
        open_doc(client, uri, "The share is\n\\[ \\frac{20}{3} = 6.67 \\]\nand\n\\[ 2(y + 4) = 2y + 4 \\]\n", "latex")
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri)))
        got = sorted((d.range.start.line, d.severity, d.code) for d in report.items)
        assert got == [(1, types.DiagnosticSeverity.Information, "approximate-value"), (3, types.DiagnosticSeverity.Warning, "wrong-step")]
    finally:
        await client.shutdown_session()
