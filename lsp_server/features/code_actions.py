"""`textDocument/codeAction`: quick fixes for wrong steps (`fixes`) and next proof steps (`proof_steps`).

One handler per method is what pygls allows; this one asks both and offers what each has.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from lsp_server.features.fixes import fix_actions
from lsp_server.features.proof_steps import proof_actions

if TYPE_CHECKING:
    from lsp_server.core import MathServer


def register(server: MathServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]),
    )
    async def code_action(ls: MathServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command] | None:
        fixes, steps = await asyncio.gather(fix_actions(ls, params), proof_actions(ls, params))
        return [*fixes, *steps] or None
