"""Checked suggestions through a real LSP client and the embedded model: inline completion never
shows a step the checker refutes, and the quick fix on a wrong step offers only verified rows."""

from __future__ import annotations

import os

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from checker import check_document, check_suggestion, verdict_of
from tests.conftest import RunningServer
from tests.lsp_server.conftest import end_of, open_doc, start_lsp

# unfinished derivations on which the embedded model's greedy step is wrong in several (seen with verify off)
UNFINISHED = [
    ("latex", "\\begin{align*}\n5x + 12 &= 32 \\\\\n5x &= "),
    ("markdown", "$$\n3b + 2 = 23 \\\\\n3b = 21 \\\\\nb = "),
    ("latex", "\\[\n(t + 2)(t - 7) = t^2 - 7t + 2t - 14 \\\\\n= "),
    ("latex", "\\begin{align*}\n\\frac{2}{8} + \\frac{7}{9} &= \\frac{18 + 56}{72} \\\\\n&= "),
    ("markdown", "$$\n\\frac{d}{dx}\\left(x^2 + 8x\\right) = "),
    ("latex", "\\begin{align*}\n16 \\cdot 9 + 1 &= 144 + 1 \\\\\n&= "),
    ("latex", "\\begin{align*}\n7x + 5 &= 54 \\\\\n7x &= 49 \\\\\nx &= "),
]


async def suggestions(client: LanguageClient, tag: str) -> list[str | None]:
    out = []
    for i, (language, text) in enumerate(UNFINISHED):
        uri = f"file:///work/{tag}{i}.{'tex' if language == 'latex' else 'md'}"
        open_doc(client, uri, text, language)
        result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=uri), position=end_of(text)))
        items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
        out.append(items[0].insert_text if items and isinstance(items[0].insert_text, str) else None)
    return out


def refuted(texts: list[str | None]) -> list[str]:
    return [s for (language, text), s in zip(UNFINISHED, texts, strict=True)
            if s and verdict_of(check_suggestion(text, language, len(text), s)) == "wrong"]


@pytest.mark.slow
async def test_inline_completion_never_shows_a_refuted_step(lsp: LanguageClient, server: RunningServer) -> None:
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)}
    env.pop("MATHASSIST_URL", None)
    unchecked = await start_lsp(env, {"inline": {"debounceMs": 0, "verify": "off"}})
    try:
        raw = await suggestions(unchecked, "off")
    finally:
        await unchecked.shutdown_session()
    assert refuted(raw), raw  # what the filter is for: some of the model's greedy steps here are wrong (3 of 7 seen)
    shown = await suggestions(lsp, "on")
    assert refuted(shown) == [], shown
    assert any(shown), "right steps still get through"


@pytest.mark.slow
async def test_the_quick_fix_on_a_wrong_step_offers_only_verified_rows(lsp: LanguageClient) -> None:
    uri = "file:///work/fix.tex"
    text = "\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= x^2 + 8x + 16\n\\end{align*}\n"
    open_doc(lsp, uri, text, "latex")
    report = await lsp.text_document_diagnostic_async(types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri)))
    [wrong] = report.items
    actions = await lsp.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=wrong.range,
        context=types.CodeActionContext(diagnostics=[wrong], trigger_kind=types.CodeActionTriggerKind.Invoked)))
    fixes = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix]
    assert fixes, actions
    lines = text.split("\n")
    for fix in fixes:
        assert fix.edit is not None and fix.edit.changes is not None and fix.title.endswith("(verified)")
        [edit] = fix.edit.changes[uri]
        assert edit.range.start.line == 2 and lines[2][edit.range.start.character:edit.range.end.character] == "x^2 + 8x + 16"
        row = lines[2][:edit.range.start.character] + edit.new_text + lines[2][edit.range.end.character:]
        fixed = "\n".join([*lines[:2], row, *lines[3:]])
        verdicts = {r.line: r.verdict for r in check_document(fixed, "latex")}
        assert verdicts[3] == "verified", (edit.new_text, verdicts)
    assert fixes[0].is_preferred


@pytest.mark.slow
async def test_the_readme_derivation_gets_its_next_row_and_the_checker_verifies_it(lsp: LanguageClient) -> None:
    """The example the first edition got wrong (it suggested 6, so the editor showed nothing): now a
    right row (`4`, or `7 - 3` on the way to it) that the checker verifies."""
    uri = "file:///work/linear.tex"
    before = "\\begin{align*}\n2x + 3 &= 7 \\\\\n2x &= "
    open_doc(lsp, uri, before + "\n\\end{align*}\n", "latex")
    result = await lsp.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri=uri), position=end_of(before)))
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    [shown] = [i.insert_text for i in items]
    assert isinstance(shown, str) and shown.replace(" ", "") in ("4", "7-3"), shown
    assert verdict_of(check_suggestion(before, "latex", len(before), shown)) == "verified"
