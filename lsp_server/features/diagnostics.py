"""Wrong derivation steps as diagnostics: `textDocument/diagnostic` (pull, LSP 3.17) for clients
that ask, `textDocument/publishDiagnostics` (push) after a pause in typing for the others.

The checker (`checker.check_document`) runs in a thread over its time-bounded workers, so checking
never blocks typing or completion; a newer edit supersedes a pending check. Only `wrong` steps
speak (severity Warning, source `mathassist`, code `wrong-step`, the counterexample in the
message and in `data`), and a value rounded to the digits written (`= 6.67`) is an Information
(code `approximate-value`); verified and unknown steps are silent. Results are cached per step by the
checker, so a re-check after an edit decides only what changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from checker import Result, Verdict
from lsp_server.suggest import document_language

if TYPE_CHECKING:
    from lsp_server.core import MathServer

log = logging.getLogger(__name__)
PAUSE_S = 0.5
MAX_CHECKED_CHARS = 1_000_000  # past this (some 15,000 steps), a document is not checked as it is typed
SOURCE = "mathassist"
CODE = "wrong-step"
APPROXIMATE_CODE = "approximate-value"  # information, never a warning: `= 6.67` for 20/3


def to_diagnostics(results: list[Result], lines: list[str]) -> list[types.Diagnostic]:
    """One Warning per wrong step and one Information per rounded value, spanning the rest of the row's line."""
    out = []
    for r in results:
        if r.verdict not in (Verdict.WRONG, Verdict.APPROXIMATE):
            continue
        wrong = r.verdict == Verdict.WRONG
        line = r.line - 1
        end = len(lines[line].rstrip()) if 0 <= line < len(lines) else r.column
        out.append(types.Diagnostic(
            range=types.Range(start=types.Position(line=line, character=r.column - 1), end=types.Position(line=line, character=max(end, r.column))),
            message=f"{'wrong step' if wrong else 'approximate'}: {r.step}: {r.message}",
            severity=types.DiagnosticSeverity.Warning if wrong else types.DiagnosticSeverity.Information,
            source=SOURCE,
            code=CODE if wrong else APPROXIMATE_CODE,
            data={"step": r.step, "counterexample": r.counterexample},
        ))
    return out


async def check(ls: MathServer, uri: str) -> tuple[list[Result], list[str]] | None:
    """The checker's verdicts on a document and its lines; None where checking is off for its
    language, or the document was closed meanwhile (pygls would read it from disk)."""
    if uri not in ls.workspace.text_documents:
        return None
    doc = ls.workspace.get_text_document(uri)
    language = document_language(doc)
    if not ls.settings.enabled_for(language):
        return None
    text = doc.source
    if len(text) > MAX_CHECKED_CHARS:
        log.info("%s has %d characters; derivations are checked up to %d (use mathassist check)", uri, len(text), MAX_CHECKED_CHARS)
        return None
    results = await asyncio.to_thread(ls.checker.check_document, text, language)
    return results, text.replace("\r\n", "\n").split("\n")


async def diagnose(ls: MathServer, uri: str) -> list[types.Diagnostic]:
    """The diagnostics of a document now (empty where checking is off for its language, or it was closed)."""
    checked = await check(ls, uri)
    return to_diagnostics(*checked) if checked is not None else []


def register(server: MathServer) -> None:
    pending: dict[str, asyncio.Task[None]] = {}

    def wants_push(ls: MathServer) -> bool:
        caps = ls.client_capabilities
        return not (caps and caps.text_document and caps.text_document.diagnostic)  # pull clients ask themselves

    async def push_later(ls: MathServer, uri: str, version: int | None) -> None:
        await asyncio.sleep(PAUSE_S)
        items = await diagnose(ls, uri)
        if uri not in ls.workspace.text_documents:
            return
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version))

    def schedule(ls: MathServer, uri: str, version: int | None) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # handlers called outside the server's loop (unit tests): nothing to schedule on
            return
        if not wants_push(ls):
            return
        old = pending.pop(uri, None)
        if old is not None:
            old.cancel()
        task = asyncio.ensure_future(push_later(ls, uri, version))
        pending[uri] = task
        task.add_done_callback(lambda t: pending.pop(uri, None) if pending.get(uri) is t else None)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MathServer, params: types.DidOpenTextDocumentParams) -> None:
        schedule(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MathServer, params: types.DidChangeTextDocumentParams) -> None:
        schedule(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MathServer, params: types.DidCloseTextDocumentParams) -> None:
        old = pending.pop(params.text_document.uri, None)
        if old is not None:
            old.cancel()
        if wants_push(ls):  # a closed document's warnings go with it
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(inter_file_dependencies=False, workspace_diagnostics=False))
    async def pull(ls: MathServer, params: types.DocumentDiagnosticParams) -> types.FullDocumentDiagnosticReport:
        return types.FullDocumentDiagnosticReport(items=await diagnose(ls, params.text_document.uri))
