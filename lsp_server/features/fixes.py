"""Quick fixes for wrong steps: the code action on a `wrong-step` diagnostic asks the model for
replacement rows and offers only those the checker verifies.

The right side of the wrong row is cut off, the model continues the row from its relation (the
same prompt as inline completion, RESAMPLE samples in one request), and each distinct candidate is
checked in place against the lines above it (`checker.check_suggestions`). What is offered
replaces the right side and nothing else; when no candidate is verified, nothing is offered.
Answers are cached per (document, version, row), since editors ask again on every cursor move.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from checker import Verdict, verdict_of
from lsp_server.features.diagnostics import CODE, SOURCE
from lsp_server.suggest import RESAMPLE, RESAMPLE_TEMPERATURE, document_language, ranked
from mathcore.context import extract_context
from mathcore.prompts import continuation_prompt
from model_server.client import ClientError

if TYPE_CHECKING:
    from lsp_server.core import MathServer

__all__ = ["fix_actions", "right_side_span"]

log = logging.getLogger(__name__)
CACHE_SIZE = 64
SEED = 0  # the same wrong row gets the same offers each time it is asked
_cache: collections.OrderedDict[tuple[str, int | None, int, str], list[str]] = collections.OrderedDict()


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
    if not wrong or uri not in ls.workspace.text_documents:
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
    doc = ls.workspace.get_text_document(uri)
    lines = doc.source.replace("\r\n", "\n").split("\n")
    row = d.range.start.line
    if row >= len(lines):
        return []
    found = right_side_span(lines[row], d.range.start.character, str(d.data.get("step", "")))  # type: ignore[union-attr]
    if found is None:
        return []
    begin, end = found
    span = types.Range(start=types.Position(line=row, character=begin), end=types.Position(line=row, character=end))
    key = (uri, doc.version, row, lines[row])
    if key not in _cache:
        _cache[key] = await _verified(ls, uri, lines, row, begin, lines[row][begin:end])
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return [(span, text) for text in _cache[key]]


async def _verified(ls: MathServer, uri: str, lines: list[str], row: int, begin: int, current: str) -> list[str]:
    """Sampled right sides for the row cut at `begin`, verified by the checker, most likely first."""
    language = document_language(ls.workspace.get_text_document(uri))
    before = "\n".join([*lines[:row], lines[row][:begin]])
    ctx = extract_context(before, row, begin, language)
    prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
    settings = ls.settings.inline
    params = settings.replace(stop=list(prompt.stop), samples=RESAMPLE, temperature=max(settings.temperature, RESAMPLE_TEMPERATURE),
                              seed=SEED)
    try:
        completion = await ls.suggester.sample(prompt.text, params)
    except ClientError:  # the gateway told the user once; no fix is offered
        return []
    candidates = [s.text for s in ranked(completion.choices, ctx) if s.text.strip() != current.strip()]
    if not candidates:
        return []
    checked = await asyncio.to_thread(ls.checker.check_suggestions, before, language, len(before), candidates)
    verified = [c for c, r in zip(candidates, checked, strict=True) if verdict_of(r) == Verdict.VERIFIED]
    log.info("fixes for %r at %s:%d: %d sampled, %d verified", current, uri, row + 1, len(candidates), len(verified))
    return verified
