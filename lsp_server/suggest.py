"""Getting suggestions from the model: the part every feature shares.

- `next_step`: the one-line continuation at the cursor (inline completion and its fallback).
  Automatic triggers wait `debounceMs` first; a newer request for the same document supersedes
  the one in flight, whose generation is then cancelled in the model process (the stream's
  connection closes). Answers are cached by (document, version, position).
- `proof_steps`: several candidates for the next proof step, sampled in one request (n),
  de-duplicated, ranked by the model's mean token log-probability.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.workspace import TextDocument

from mathcore.context import MathContext, extract_context
from mathcore.postprocess import drop_empty, postprocess, strip_trailing_space
from mathcore.prompts import continuation_prompt
from model_server.client import ServerUnavailable

if TYPE_CHECKING:
    from lsp_server.core import MathServer

__all__ = ["ProofStep", "Suggester", "cursor_index"]

log = logging.getLogger(__name__)
CACHE_SIZE = 128
PROOF_STEP_FILTERS = (strip_trailing_space, drop_empty)  # a step is a sentence: no math-line trimming


@dataclass(frozen=True)
class ProofStep:
    text: str
    logprob: float


def cursor_index(doc: TextDocument, line: int, character: int) -> int:
    """The cursor's column as a Python string index.

    LSP counts columns in the negotiated encoding, UTF-16 units by default, where mathematical
    letters such as 𝔽 or 𝒪 count two; used as an index, they would shift the cursor to the right.
    Columns past the end stay past it (the context clamps them).
    """
    if doc.source.isascii():  # O(1) in CPython: the common case costs nothing per keystroke
        return character
    lines = doc.source.split("\n", line + 1)  # split as the context does, and only up to the cursor
    if not 0 <= line < len(lines) or lines[line].isascii():
        return character
    text = lines[line].rstrip("\r")
    if character >= doc.position_codec.client_num_units(text):
        return len(text)
    return doc.position_codec.position_from_client_units([text], types.Position(line=0, character=character)).character


class Suggester:
    """Per-server state for suggestions: the in-flight task per document and a small cache."""

    def __init__(self, server: MathServer) -> None:
        self.server = server
        self._inflight: dict[str, asyncio.Task[str | None]] = {}
        self._cache: collections.OrderedDict[tuple[str, int | None, int, int], str | None] = collections.OrderedDict()

    def context(self, uri: str, line: int, character: int) -> MathContext | None:
        """The context at a position, or None where suggestions are off for the document's language."""
        doc = self.server.workspace.get_text_document(uri)
        if not self.server.settings.enabled_for(doc.language_id or _language_from_uri(uri)):
            return None
        return extract_context(doc.source, line, cursor_index(doc, line, character), doc.language_id or _language_from_uri(uri))

    async def next_step(self, uri: str, line: int, character: int, explicit: bool) -> str | None:
        """The suggestion at the cursor, None when there is none (or it was superseded)."""
        doc = self.server.workspace.get_text_document(uri)
        key = (uri, doc.version, line, character)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        previous = self._inflight.pop(uri, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.ensure_future(self._generate(uri, line, character, explicit))
        self._inflight[uri] = task
        try:
            text = await task
        except asyncio.CancelledError:
            task.cancel()
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # $/cancelRequest for this very request: let pygls answer it
            return None  # superseded by a newer request
        finally:
            if self._inflight.get(uri) is task:
                del self._inflight[uri]
        self._cache[key] = text
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return text

    async def _generate(self, uri: str, line: int, character: int, explicit: bool) -> str | None:
        settings = self.server.settings
        if not explicit and settings.debounce_ms:
            await asyncio.sleep(settings.debounce_ms / 1000)
        ctx = self.context(uri, line, character)
        if ctx is None or not ctx.prefix.strip():
            return None
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
        params = settings.inline.replace(stop=list(prompt.stop), samples=1)
        client = await self.server.gateway.client()
        raw = ""
        try:
            async with client.stream(prompt.text, params) as deltas:
                async for d in deltas:
                    raw += d.text
        except ServerUnavailable as exc:
            self.server.gateway.lost(exc)
            raise
        return postprocess(raw, ctx)

    async def proof_steps(self, uri: str, line: int, character: int) -> list[ProofStep]:
        """Distinct candidates for the next step of the proof at the cursor, most likely first."""
        ctx = self.context(uri, line, character)
        if ctx is None or not ctx.in_proof:
            return []
        settings = self.server.settings
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment, proof_step=True)
        # twice as many samples as candidates shown (one batched request): likely steps repeat
        params = settings.proof.replace(stop=list(prompt.stop), samples=min(2 * settings.candidates, 16))
        client = await self.server.gateway.client()
        try:
            completion = await client.complete(prompt.text, params, logprobs=True)
        except ServerUnavailable as exc:
            self.server.gateway.lost(exc)
            raise
        seen: dict[str, ProofStep] = {}
        for choice in completion.choices:
            text = postprocess(choice.text, ctx, PROOF_STEP_FILTERS)
            if text is None:
                continue
            norm = re.sub(r"\s+", " ", text).strip()
            score = (choice.logprob or 0.0) / max(choice.tokens or 1, 1)
            if norm not in seen or seen[norm].logprob < score:
                seen[norm] = ProofStep(norm, score)
        return sorted(seen.values(), key=lambda s: -s.logprob)[: settings.candidates]


def _language_from_uri(uri: str) -> str:
    lower = uri.lower()
    if lower.endswith((".tex", ".latex", ".sty", ".cls")):
        return "latex"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    return "plaintext"
