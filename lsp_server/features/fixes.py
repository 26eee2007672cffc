"""Quick fixes for wrong steps: the code action on a `wrong-step` diagnostic asks the model for
replacement rows and offers only those the checker verifies.

The right side of the wrong row is cut off, the model continues the row from its relation (the
same prompt as inline completion, RESAMPLE samples in one request), and each distinct candidate is
checked in place against the lines above it (`assist.suggest`'s one pipeline). What is offered
replaces the right side and nothing else; when no candidate is verified, nothing is offered.
The suggester keeps the answers per (document, version, row), since editors ask again on every
cursor move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from assist.suggest import Cursor
from lsp_server.features.diagnostics import CODE, SOURCE
from model_server.client import ClientError

if TYPE_CHECKING:
    from lsp_server.core import MathServer

__all__ = ["fix_actions", "right_side_span"]


def right_side_span(line: str, start: int, step: str) -> tuple[int, int] | None:
    """Where, in `line`, the right side of the wrong step `step` (`lhs rel rhs`, as the checker
    wrote it) stands, searching from the diagnostic's column `start`; None when it cannot be found."""
    for rel in (" <= ", " >= ", " = ", " < ", " > "):
        if rel in step:
            rhs = step.rsplit(rel, 1)[1].strip()
            break
    else:
        return None
    at = line.find(rhs, start)
    return (at, at + len(rhs)) if at >= 0 and rhs else None


async def fix_actions(ls: MathServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """One quick fix per verified replacement of each wrong step in the request's range."""
    uri = params.text_document.uri
    wrong = [d for d in params.context.diagnostics if d.source == SOURCE and d.code == CODE and isinstance(d.data, dict)]
    if not wrong or ls.view(uri) is None:
        return []
    actions: list[types.CodeAction] = []
    for d in wrong:
        for i, (span, text) in enumerate(await _replacements(ls, uri, d)):
            edit = types.TextEdit(range=span, new_text=text)
            actions.append(types.CodeAction(
                title=f"Replace with {text} (verified)", kind=types.CodeActionKind.QuickFix, diagnostics=[d],
                edit=types.WorkspaceEdit(changes={uri: [edit]}), is_preferred=i == 0))
    return actions


async def _replacements(ls: MathServer, uri: str, d: types.Diagnostic) -> list[tuple[types.Range, str]]:
    view = ls.view(uri)
    row = d.range.start.line
    if view is None or row >= len(view.lines):
        return []
    line = view.lines[row]
    found = right_side_span(line, d.range.start.character, str(d.data.get("step", "")))  # type: ignore[union-attr]
    if found is None:
        return []
    begin, end = found
    span = types.Range(start=types.Position(line=row, character=begin), end=types.Position(line=row, character=end))
    cut = view.starts[row] + begin
    try:
        texts = await ls.suggester.replacements(uri, view.version, Cursor(view.text[:cut], cut, view.language), line[begin:end])
    except ClientError:  # the connection told the user once; no fix is offered
        return []
    return [(span, text) for text in texts]
