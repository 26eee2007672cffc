"""`textDocument/inlineCompletion` (LSP 3.18): the next derivation step as ghost text.

Registered with `InlineCompletionOptions`: without them the capability is not advertised and clients never ask.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from lsp_server.features.completion import next_step

if TYPE_CHECKING:
    from lsp_server.core import MathServer

log = logging.getLogger(__name__)


def register(server: MathServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: MathServer, params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
        pos = params.position
        explicit = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        text = await next_step(ls, params.text_document.uri, pos, explicit)
        log.debug("inline completion %s:%d:%d (%s): %r", params.text_document.uri, pos.line, pos.character,
                  "invoked" if explicit else "automatic", text)
        if not text:
            return None
        here = types.Range(start=pos, end=pos)
        return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text, range=here)])
