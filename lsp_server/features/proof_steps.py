"""Proof-step suggestions: code actions inside a proof (`proof_actions`, served by
`features/code_actions.py`), and the command `mathassist.suggestProofSteps`.

Asked for explicitly (Ctrl+. / the lightbulb menu: `CodeActionTriggerKind.Invoked`), the code
action request samples the candidates and offers each as an action that inserts it. Asked
automatically (VS Code asks on every cursor move), it costs nothing: it offers one action that
runs the command. The command returns the ranked candidates, `[{"text", "logprob"}]`, and, where
the client can show a choice (`window/showMessageRequest`), lets the user pick one to insert.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from assist.suggest import Candidate
from lsp_server.core import MathServer  # at run time: pygls reads the command's type hints
from model_server.client import ClientError

COMMAND = "mathassist.suggestProofSteps"


def _insertion(uri: str, pos: types.Position, line_prefix: str, step: str) -> types.WorkspaceEdit:
    text = step if not line_prefix.strip() else ("\n" + step if line_prefix.endswith(".") else " " + step)
    edit = types.TextEdit(range=types.Range(start=pos, end=pos), new_text=text)
    return types.WorkspaceEdit(changes={uri: [edit]})


async def proof_actions(ls: MathServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
    """Inside a proof: asked for (Ctrl+.), the sampled steps as actions, verified ones first and marked;
    asked automatically, one action that runs the command."""
    uri, pos = params.text_document.uri, params.range.end
    view = ls.served_view(uri)
    if view is None:
        return []
    at = view.cursor(pos.line, pos.character)
    ctx = at.context()
    if not ctx.in_proof:
        return []
    if params.context.trigger_kind != types.CodeActionTriggerKind.Invoked:
        # a bare Command: a CodeAction wrapping one reads as a Command to some clients' decoders
        return [types.Command(title="mathassist: suggest next proof step", command=COMMAND, arguments=[uri, _json(pos)])]
    try:
        steps = await ls.suggester.proof_steps(at)
    except ClientError:
        return []
    return [
        types.CodeAction(
            title=f"Next step: {s.text}" + (" (verified)" if s.verdict == "verified" else ""), kind=types.CodeActionKind.RefactorRewrite,
            edit=_insertion(uri, pos, ctx.line_prefix, s.text), is_preferred=i == 0,
        )
        for i, s in enumerate(steps)
    ]


def register(server: MathServer) -> None:
    @server.command(COMMAND)
    async def suggest_proof_steps(ls: MathServer, uri: str, position: dict[str, int]) -> list[dict[str, Any]]:
        pos = types.Position(line=int(position["line"]), character=int(position["character"]))
        view = ls.served_view(uri)
        at = view.cursor(pos.line, pos.character) if view is not None else None
        ctx = at.context() if at is not None else None
        if at is None or ctx is None or not ctx.in_proof:
            ls.window_show_message(types.ShowMessageParams(
                types.MessageType.Info, "mathassist: put the cursor inside a \\begin{proof} ... \\end{proof} to get proof steps"))
            return []
        try:
            steps = await ls.suggester.proof_steps(at)
        except ClientError:
            return []
        if not steps:
            ls.window_show_message(types.ShowMessageParams(
                types.MessageType.Info, "mathassist: the model has no next step for this proof that the checker does not refute "
                "(the demo model declines statements beyond its school algebra; DeepSeekMath: see the README's GPU section)"))
        if steps and _can_ask(ls):
            ls.run_in_background(_offer(ls, uri, pos, ctx.line_prefix, steps))
        return [{"text": s.text, "logprob": s.logprob, "verdict": s.verdict} for s in steps]


def _json(pos: types.Position) -> dict[str, int]:
    return {"line": pos.line, "character": pos.character}


def _can_ask(ls: MathServer) -> bool:
    caps = ls.client_capabilities
    return bool(caps and caps.window and caps.window.show_message)


async def _offer(ls: MathServer, uri: str, pos: types.Position, line_prefix: str, steps: list[Candidate]) -> None:
    """Let the user pick a step in the client's own UI, then insert it."""
    actions = [types.MessageActionItem(title=s.text) for s in steps]
    try:
        chosen = await ls.window_show_message_request_async(
            types.ShowMessageRequestParams(type=types.MessageType.Info, message="mathassist: next proof step", actions=actions)
        )
    except Exception:  # the client could not show the choice; the command's result still has the steps
        return
    if chosen is not None:
        await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=_insertion(uri, pos, line_prefix, chosen.title)))
