"""`textDocument/inlayHint`: a subtle mark after each step the checker verified, behind the setting
`mathassist.checks.showVerified` (off by default: wrong steps speak as diagnostics, the rest is quiet).

The verdicts are the checker's cached ones, so hints cost nothing once the diagnostics are computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from checker import Result
from lsp_server.documents import DocumentView
from lsp_server.features.diagnostics import check

if TYPE_CHECKING:
    from lsp_server.core import MathServer

MARK = "✓"


def to_hints(results: list[Result], view: DocumentView, first: int, last: int) -> list[types.InlayHint]:
    """A mark at the end of each verified row's line within lines [first, last] (0-based)."""
    hints, seen = [], set()
    for r in results:
        line = r.line - 1
        if r.verdict != "verified" or not first <= line <= last or line in seen or line >= len(view.lines):
            continue
        seen.add(line)
        hints.append(types.InlayHint(
            position=view.position(line, view.line_end(line)), label=MARK,
            tooltip=f"mathassist: verified: {r.step} ({r.message})", padding_left=True))
    return hints


def register(server: MathServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    async def inlay_hints(ls: MathServer, params: types.InlayHintParams) -> list[types.InlayHint] | None:
        if not ls.settings.show_verified:
            return None
        checked = await check(ls, params.text_document.uri)
        if checked is None:
            return None
        results, view = checked
        return to_hints(results, view, params.range.start.line, params.range.end.line)
