"""Wrong derivation steps as diagnostics: `textDocument/diagnostic` (pull, LSP 3.17) for clients
that ask, `textDocument/publishDiagnostics` (push) after a pause in typing for the others.

The checker (`checker.check_document`) runs in a thread over its time-bounded workers, so checking
never blocks typing or completion; a newer edit supersedes a pending check. Only `wrong` steps
speak (severity Warning, source `mathassist`, code `wrong-step`, the counterexample in the
message and in `data`), and a value rounded to the digits written (`= 6.67`) is an Information
(code `approximate-value`); verified and unknown steps are silent. Results are cached per step by the
checker, so a re-check after an edit decides only what changed. A pull report carries a
`resultId` (the document's version and the settings' generation); asked again with it while
neither has changed, the answer is an "unchanged" report and nothing is checked.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from checker import Result, Verdict, check_document
from lsp_server.core import DocumentDiagnostics
from lsp_server.documents import DocumentView

if TYPE_CHECKING:
    from lsp_server.core import MathServer

log = logging.getLogger(__name__)
PAUSE_S = 0.5
MAX_CHECKED_CHARS = 1_000_000  # past this (some 15,000 steps), a document is not checked as it is typed
SOURCE = "mathassist"
CODE = "wrong-step"
APPROXIMATE_CODE = "approximate-value"  # information, never a warning: `= 6.67` for 20/3


def to_diagnostics(results: list[Result], view: DocumentView) -> list[types.Diagnostic]:
    """One Warning per wrong step and one Information per rounded value, spanning the rest of the row's line."""
    out = []
    for r in results:
        if r.verdict not in (Verdict.WRONG, Verdict.APPROXIMATE):
            continue
        wrong = r.verdict == Verdict.WRONG
        line = r.line - 1
        out.append(types.Diagnostic(
            range=types.Range(start=view.position(line, r.column - 1), end=view.position(line, max(view.line_end(line), r.column))),
            message=f"{'wrong step' if wrong else 'approximate'}: {r.step}: {r.message}",
            severity=types.DiagnosticSeverity.Warning if wrong else types.DiagnosticSeverity.Information,
            source=SOURCE,
            code=CODE if wrong else APPROXIMATE_CODE,
            data={"step": r.step, "counterexample": r.counterexample},
        ))
    return out


async def check(ls: MathServer, uri: str) -> tuple[list[Result], DocumentView] | None:
    """The checker's verdicts on a document and its view; None where checking is off for its
    language, the document is too long to check as it is typed, or it is not open."""
    view = ls.served_view(uri)
    if view is None:
        return None
    if len(view.text) > MAX_CHECKED_CHARS:
        log.info("%s has %d characters; derivations are checked up to %d (use mathassist check)", uri, len(view.text), MAX_CHECKED_CHARS)
        return None
    return await asyncio.to_thread(check_document, view.text, view.language), view


async def diagnose(ls: MathServer, uri: str) -> list[types.Diagnostic]:
    """The diagnostics of a document now (empty where checking is off for its language, or it was closed)."""
    checked = await check(ls, uri)
    return to_diagnostics(*checked) if checked is not None else []


def _result_id(ls: MathServer, uri: str) -> str | None:
    view = ls.view(uri)
    return None if view is None else f"{view.version}:{ls.settings_generation}"


def _wants_push(ls: MathServer) -> bool:
    caps = ls.client_capabilities
    return not (caps and caps.text_document and caps.text_document.diagnostic)  # pull clients ask themselves


async def _push_later(ls: MathServer, uri: str, version: int | None) -> None:
    await asyncio.sleep(PAUSE_S)
    items = await diagnose(ls, uri)
    if ls.view(uri) is None:
        return
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version))


def _schedule(ls: MathServer, uri: str, version: int | None) -> None:
    """Push the diagnostics once typing pauses, superseding a push still pending."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # handlers called outside the server's loop (unit tests): nothing to schedule on
        return
    if not _wants_push(ls):
        return
    state = ls.diagnostics.setdefault(uri, DocumentDiagnostics())
    if state.push is not None:
        state.push.cancel()
    state.push = asyncio.ensure_future(_push_later(ls, uri, version))


def register(server: MathServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MathServer, params: types.DidOpenTextDocumentParams) -> None:
        _schedule(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MathServer, params: types.DidChangeTextDocumentParams) -> None:
        _schedule(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MathServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)
        if _wants_push(ls):  # a closed document's warnings go with it
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(inter_file_dependencies=False, workspace_diagnostics=False))
    async def pull(ls: MathServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        result_id = _result_id(ls, uri)
        state = ls.diagnostics.get(uri)
        if result_id is not None and state is not None and params.previous_result_id == result_id == state.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        items = await diagnose(ls, uri)
        if result_id is not None and result_id == _result_id(ls, uri):  # still the version it was asked for
            state = ls.diagnostics.setdefault(uri, DocumentDiagnostics())
            state.result_id = result_id
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)
