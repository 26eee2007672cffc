"""End to end: pytest-lsp against `mathassist lsp` and the real model process (embedded model)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from checker._answers import equal as answers_equal
from tests.conftest import RunningServer
from tests.lsp_server.conftest import end_of, open_doc, start_lsp

ALIGN = "We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= "
DOC_TEX = ALIGN + "\n\\end{align*}\n"
PROOF = ("\\begin{theorem}\nFor every real $x$, $(x + 4)^2 = x^2 + 8x + 16$.\n\\end{theorem}\n\\begin{proof}\n")


def inline_params(uri: str, pos: types.Position, invoked: bool = True) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos,
    )


async def test_server_advertises_inline_completion_code_actions_and_the_command(lsp: LanguageClient) -> None:
    caps = lsp.server_capabilities  # type: ignore[attr-defined]
    assert caps is not None and caps.inline_completion_provider is not None
    assert caps.completion_provider is not None and caps.code_action_provider is not None
    assert caps.execute_command_provider is not None
    assert "mathassist.suggestProofSteps" in caps.execute_command_provider.commands


async def test_inline_completion_continues_an_align_derivation(lsp: LanguageClient) -> None:
    uri = "file:///work/expand.tex"
    open_doc(lsp, uri, DOC_TEX, "latex")
    pos = end_of(ALIGN)
    result = await lsp.text_document_inline_completion_async(inline_params(uri, pos))
    assert result is not None
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert len(items) == 1
    item = items[0]
    assert item.range == types.Range(start=pos, end=pos)
    text = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    assert "\n" not in text and "\\\\" not in text and "\\end" not in text  # one step, on this line
    assert answers_equal(text, "x^2 + 8x + 15"), text


@pytest.mark.parametrize(("uri", "language", "text", "expected"), [
    ("file:///work/notes.md", "markdown", "We expand the product.\n\n$$\n(x - 2)(x + 6) = x^2 + 6x - 2x - 12 \\\\\n= ", "x^2 + 4x - 12"),
    ("file:///work/notes.txt", "plaintext", "We expand the product.\n(x + 1)(x + 7) = x^2 + 7x + x + 7\n= ", "x^2 + 8x + 7"),
])
async def test_markdown_and_plain_text(lsp: LanguageClient, uri: str, language: str, text: str, expected: str) -> None:
    open_doc(lsp, uri, text, language)
    result = await lsp.text_document_inline_completion_async(inline_params(uri, end_of(text)))
    assert result is not None
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    got = items[0].insert_text
    assert isinstance(got, str) and got.strip()
    assert answers_equal(got, expected), got


async def test_completion_fallback_gives_the_same_text(lsp: LanguageClient) -> None:
    uri = "file:///work/fallback.tex"
    open_doc(lsp, uri, DOC_TEX, "latex")
    pos = end_of(ALIGN)
    inline = await lsp.text_document_inline_completion_async(inline_params(uri, pos))
    completion = await lsp.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos,
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked)))
    assert inline is not None and completion is not None
    items = completion.items if isinstance(completion, types.CompletionList) else completion
    inline_items = inline.items if isinstance(inline, types.InlineCompletionList) else inline
    assert isinstance(items[0].text_edit, types.TextEdit)
    assert items[0].text_edit.new_text == inline_items[0].insert_text
    assert items[0].text_edit.range == types.Range(start=pos, end=pos)


def inserted(lsp: LanguageClient, uri: str, pos: types.Position, text: str, version: int) -> types.Position:
    """Type `text` (one line) at `pos`, as an editor reports it; the cursor after it."""
    lsp.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=text)]))
    return types.Position(line=pos.line, character=pos.character + len(text))


def suggestion(result: types.InlineCompletionList | list[types.InlineCompletionItem] | None) -> str | None:
    if result is None:
        return None
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    text = items[0].insert_text
    return text if isinstance(text, str) else text.value


def model_requests(server: RunningServer) -> float:
    return sum(server.metric(f"mathassist_requests_{k}_total") for k in ("finished", "cancelled", "failed"))


async def test_typing_along_a_suggestion_keeps_the_rest_without_asking_the_model(lsp: LanguageClient, server: RunningServer) -> None:
    uri = "file:///work/along.tex"
    open_doc(lsp, uri, DOC_TEX, "latex")
    pos = end_of(ALIGN)
    shown = suggestion(await lsp.text_document_inline_completion_async(inline_params(uri, pos, invoked=False)))
    assert shown is not None and len(shown) > 4, shown
    server.wait_idle()
    asked = model_requests(server)
    cursor = inserted(lsp, uri, pos, shown[:3], version=2)
    assert suggestion(await lsp.text_document_inline_completion_async(inline_params(uri, cursor, invoked=False))) == shown[3:]
    assert model_requests(server) == asked  # answered from the shown suggestion

    cursor = inserted(lsp, uri, cursor, "9", version=3)  # away from it: the model is asked again
    await lsp.text_document_inline_completion_async(inline_params(uri, cursor, invoked=False))
    server.wait_idle()
    assert model_requests(server) > asked


async def test_typing_along_a_suggestion_being_generated_asks_the_model_once(lsp: LanguageClient, server: RunningServer) -> None:
    """The keystroke lands while the generation runs (the first request is superseded) or just after
    it ended (the first gets it): either way the second is the rest, and the model was asked once.
    tests/lsp_server/test_following.py holds the generation back to test the first case alone."""
    open_doc(lsp, "file:///work/reference.tex", DOC_TEX, "latex")  # the same text: what the generation will suggest
    expected = suggestion(await lsp.text_document_inline_completion_async(inline_params("file:///work/reference.tex", end_of(ALIGN))))
    assert expected is not None and len(expected) > 4, expected
    uri = "file:///work/follow.tex"
    open_doc(lsp, uri, DOC_TEX, "latex")
    server.wait_idle()
    asked, prefilled = model_requests(server), server.metric("mathassist_prompt_tokens_total")
    pos = end_of(ALIGN)
    first = asyncio.ensure_future(lsp.text_document_inline_completion_async(inline_params(uri, pos, invoked=False)))
    deadline = time.monotonic() + 20
    while server.metric("mathassist_prompt_tokens_total") == prefilled:  # the generation has begun
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    cursor = inserted(lsp, uri, pos, expected[:2], version=2)
    second = await lsp.text_document_inline_completion_async(inline_params(uri, cursor, invoked=False))
    assert suggestion(await first) in (None, expected)
    assert suggestion(second) == expected[2:]
    server.wait_idle()
    assert model_requests(server) == asked + 1  # one generation served both


async def test_proof_code_action_offers_distinct_steps(lsp: LanguageClient) -> None:
    uri = "file:///work/proof.tex"
    text = PROOF + "\n\\end{proof}\n"
    open_doc(lsp, uri, text, "latex")
    pos = end_of(PROOF)
    actions = await lsp.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[], trigger_kind=types.CodeActionTriggerKind.Invoked)))
    assert actions is not None
    steps = [a for a in actions if isinstance(a, types.CodeAction) and a.edit is not None]
    texts = [a.edit.changes[uri][0].new_text for a in steps if a.edit and a.edit.changes]
    assert len(steps) >= 2 and len(set(texts)) == len(texts)
    assert all(a.title.startswith("Next step: ") for a in steps)
    # the automatic request (every cursor move) costs no generation: one action that runs the command
    auto = await lsp.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[], trigger_kind=types.CodeActionTriggerKind.Automatic)))
    assert auto is not None and len(auto) == 1
    assert isinstance(auto[0], types.Command)
    result = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(
        command=auto[0].command, arguments=auto[0].arguments))
    assert len(result) >= 2 and result == sorted(result, key=lambda s: (s["verdict"] != "verified", -s["logprob"]))
    assert all(s["verdict"] in ("verified", "unknown") for s in result)  # a refuted step is never offered
    assert all(s["logprob"] < 0 for s in result) and len({s["logprob"] for s in result}) > 1  # real likelihoods
    # the command also lets the user pick a step in the client's UI, and inserts the choice
    deadline = time.monotonic() + 5
    while not lsp.applied:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the chosen step was never inserted"
        await asyncio.sleep(0.05)
    assert [a.title for a in lsp.picked[0].actions] == [s["text"] for s in result]  # type: ignore[attr-defined]
    assert lsp.applied[0].edit.changes[uri][0].new_text == result[0]["text"]  # type: ignore[attr-defined]


async def test_a_statement_beyond_the_model_gets_no_fabricated_proof_step(lsp: LanguageClient) -> None:
    """The demo model declines a proof it cannot write: no step is offered, and the user is told why."""
    uri = "file:///work/primes.tex"
    before = "\\begin{theorem}\nThere is no largest prime number.\n\\end{theorem}\n\\begin{proof}\n"
    open_doc(lsp, uri, before + "\n\\end{proof}\n", "latex")
    shown = len(lsp.messages)
    result = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mathassist.suggestProofSteps", arguments=[uri, {"line": 4, "character": 0}]))
    assert result == []
    assert any("no next step" in m.message and "README" in m.message for m in lsp.messages[shown:])


async def test_cancel_request_cancels_the_generation_in_the_model_process(lsp: LanguageClient, server: RunningServer) -> None:
    uri = "file:///work/cancel.tex"
    open_doc(lsp, uri, DOC_TEX, "latex")
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"mathassist": {"inline": {"maxNewTokens": 3000, "temperature": 2.0, "debounceMs": 0}}}))
    await asyncio.sleep(0.2)
    pos = types.Position(line=1, character=0)
    # A sampled step can end (new line, EOS) before the cancel arrives; then the request simply
    # completed, or was cancelled while the checker read it, after the model was done: we try again.
    # Every cancel that lands during generation must reach the model.
    for attempt in range(8):
        before = server.metric("mathassist_requests_cancelled_total")
        finished = server.metric("mathassist_requests_finished_total")
        started = server.metric("mathassist_prompt_tokens_total")
        msg_id = 424242 + attempt
        if attempt:  # a new version of the document, so the answer does not come from the cache
            lsp.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=attempt + 1),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(
                    start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)), text=" ")]))
        future = lsp.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, pos), msg_id=msg_id)
        deadline = time.monotonic() + 20
        while server.metric("mathassist_prompt_tokens_total") == started:  # generation has begun
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        lsp.protocol.notify("$/cancelRequest", types.CancelParams(id=msg_id))
        try:
            await asyncio.wrap_future(future) if not asyncio.isfuture(future) else await future
        except Exception as exc:  # the server answers a cancelled request with an error
            assert "cancel" in str(exc).lower() or type(exc).__name__.endswith("Cancelled"), exc
        else:
            server.wait_idle(timeout=2)
            continue  # finished before the cancel arrived
        deadline = time.monotonic() + 3
        while server.metric("mathassist_requests_cancelled_total") < before + 1:
            if server.metric("mathassist_requests_finished_total") > finished:
                break  # the generation had ended before the cancel arrived (it landed during the check)
            assert time.monotonic() < deadline, "the model process never saw the cancellation"
            await asyncio.sleep(0.05)
        else:
            assert server.metric("mathassist_requests_cancelled_total") == before + 1
            server.wait_idle(timeout=2)
            return
        server.wait_idle(timeout=2)
    pytest.fail("every generation finished before its $/cancelRequest arrived")


async def test_hostile_input_leaves_the_server_serving(lsp: LanguageClient) -> None:
    uri = "file:///work/hostile.tex"
    open_doc(lsp, uri, DOC_TEX, "latex")
    far = types.Position(line=10_000, character=5_000)
    await lsp.text_document_inline_completion_async(inline_params(uri, far))
    big_uri = "file:///work/big.tex"
    big = ("\\begin{align*}\n" + "a &= b \\\\\n" * 500_000)[: 5 * 2**20] + "\n&= "
    open_doc(lsp, big_uri, big, "latex")
    await lsp.text_document_inline_completion_async(inline_params(big_uri, end_of(big)))
    bad_uri = "file:///work/unbalanced.tex"
    bad = "\\end{proof}\\end{align*}\\begin{align*}\\left( \\begin{proof}\n\\frac{{{\n&= "
    open_doc(lsp, bad_uri, bad, "latex")
    await lsp.text_document_inline_completion_async(inline_params(bad_uri, end_of(bad)))
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"mathassist": {"inline": {"temperature": 9, "topP": 0}, "proofSteps": {"candidates": 0}, "languages": {"cobol": True}}}))
    await asyncio.sleep(0.3)
    warnings = " ".join(m.message for m in lsp.messages)
    for name in ("mathassist.inline.temperature", "mathassist.inline.topP", "mathassist.proofSteps.candidates", "cobol"):
        assert name in warnings
    result = await lsp.text_document_inline_completion_async(inline_params(uri, end_of(ALIGN)))
    assert result is not None  # still serving, with the previous valid settings


async def test_disabled_language_gets_nothing(lsp: LanguageClient) -> None:
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"mathassist": {"languages": {"markdown": False}}}))
    await asyncio.sleep(0.2)
    uri = "file:///work/off.md"
    text = "$$\n(x + 1)(x + 2) = "
    open_doc(lsp, uri, text, "markdown")
    assert await lsp.text_document_inline_completion_async(inline_params(uri, end_of(text))) is None


@pytest.mark.slow
async def test_unreachable_model_gives_one_message_and_the_server_keeps_running(tmp_path: object) -> None:
    env = {**os.environ, "MATHASSIST_URL": "http://127.0.0.1:9", "MATHASSIST_RUNTIME_DIR": str(tmp_path)}
    client = await start_lsp(env)
    try:
        uri = "file:///work/x.tex"
        open_doc(client, uri, DOC_TEX, "latex")
        for _ in range(2):
            assert await client.text_document_inline_completion_async(inline_params(uri, end_of(ALIGN))) is None
        await asyncio.sleep(0.2)
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and "mathassist status" in errors[0].message
    finally:
        await client.shutdown_session()


async def test_status_command_and_notifications(lsp: LanguageClient, server: RunningServer) -> None:
    result = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="mathassist.status"))
    assert result["state"] == "ready" and result["server"]["model"] == "embedded"
    assert {"running", "queued", "device"} <= set(result["server"])
