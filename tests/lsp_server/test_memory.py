"""The language server keeps nothing per keystroke (pygls 2.1.1 kept a future per notification)."""

from __future__ import annotations

from lsprotocol import types

from lsp_server.server import create_server


def test_notifications_leave_no_future_behind() -> None:
    server = create_server()
    protocol = server.protocol
    sent: list[bytes] = []
    protocol.set_writer(type("Sink", (), {"write": lambda self, data: sent.append(data)})())
    protocol.handle_message(types.InitializeRequest(id=1, params=types.InitializeParams(capabilities=types.ClientCapabilities())))
    assert sent and b"capabilities" in sent[0], "the server answered initialize"
    uri = "file:///work/a.tex"
    protocol._handle_notification(types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="latex", version=1, text="")))
    for i in range(200):
        protocol._handle_notification(types.TEXT_DOCUMENT_DID_CHANGE, types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=0, character=i), end=types.Position(line=0, character=i)), text="x")]))
    assert server.workspace.get_text_document(uri).source == "x" * 200
    assert protocol._request_futures == {}
