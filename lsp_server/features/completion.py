"""`textDocument/completion`: the same next step as one completion item, for clients without
inline completion (older Neovim, Emacs). `next_step` is what both completion features ask."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from model_server.client import ClientError

if TYPE_CHECKING:
    from lsp_server.core import MathServer


async def next_step(ls: MathServer, uri: str, pos: types.Position, explicit: bool) -> str | None:
    """The suggestion at a position, None where there is none or suggestions are off for the document."""
    view = ls.served_view(uri)
    if view is None:
        return None
    try:
        return await ls.suggester.next_step(uri, view.version, view.cursor(pos.line, pos.character), explicit)
    except ClientError:
        return None  # the connection told the user once; the editor keeps working


def register(server: MathServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["=", "&"]))
    async def completion(ls: MathServer, params: types.CompletionParams) -> types.CompletionList | None:
        pos = params.position
        explicit = params.context is None or params.context.trigger_kind == types.CompletionTriggerKind.Invoked
        text = await next_step(ls, params.text_document.uri, pos, explicit)
        if not text:
            return None
        item = types.CompletionItem(
            label=text if len(text) <= 60 else text[:57] + "...",
            kind=types.CompletionItemKind.Text,
            detail="mathassist: next step",
            text_edit=types.TextEdit(range=types.Range(start=pos, end=pos), new_text=text),
            filter_text="",
            sort_text="0",
        )
        return types.CompletionList(is_incomplete=True, items=[item])
