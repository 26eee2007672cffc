"""Getting suggestions from the model: the part every feature shares.

- `next_step`: the one-line continuation at the cursor (inline completion and its fallback).
  Typing along the shown suggestion gets the rest of it without asking the model, and a request
  whose keystrokes agree with the generation in flight waits for that one (`following`).
  Otherwise automatic triggers wait `debounceMs` first, and a newer request for the same
  document supersedes the one in flight, whose generation is then cancelled in the model process
  (the stream's connection closes). Answers are cached by (document, version, position).
- `proof_steps`: several candidates for the next proof step, sampled in one request (n),
  de-duplicated, ranked by the model's mean token log-probability.

With `mathassist.inline.verify` = `filter` (the default) every candidate is read by the derivation
checker against the lines above it (`checker.check_suggestions`, in a thread over its time-bounded
workers): a candidate it refutes is never shown, nor one that uses a variable named nowhere above
(`mathcore.steps.new_variables`: `x^2 - 5x` in a derivation about `t`). When the greedy suggestion is refuted, RESAMPLE
more are sampled in one batched request and the most likely verified one is shown, else nothing.
Proof-step candidates are ranked verified first.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.workspace import TextDocument

from checker import Verdict, verdict_of
from lsp_server.following import Anchor, Generation, rest_of
from mathcore.context import MathContext, extract_context, language_of
from mathcore.postprocess import FILTERS, Filter, drop_empty, postprocess, strip_trailing_space
from mathcore.prompts import Prompt, continuation_prompt
from mathcore.sampling import SamplingParams
from mathcore.steps import new_variables
from model_server.client import Choice, Completion, ServerUnavailable

if TYPE_CHECKING:
    from lsp_server.core import MathServer

__all__ = ["RESAMPLE", "RESAMPLE_TEMPERATURE", "ProofStep", "Suggester", "cursor_index", "document_language", "ranked"]

log = logging.getLogger(__name__)
CACHE_SIZE = 128
SHOWN_DOCUMENTS = 32  # documents whose last suggestion is kept for typing along it
ORPHAN_GRACE_S = 0.1  # a generation whose request was cancelled waits this long for the next keystroke's request
RESAMPLE = 4  # candidates sampled when the greedy suggestion is refuted (one request)
RESAMPLE_TEMPERATURE = 0.7
PROOF_STEP_FILTERS = (strip_trailing_space, drop_empty)  # a step is a sentence: no math-line trimming


@dataclass(frozen=True)
class ProofStep:
    text: str
    logprob: float
    verdict: str = "unknown"  # the checker's, on the mathematics in the step


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
    """Per-server state for suggestions: the generation per document, the suggestion last shown
    in each (typed along, `following`), and a small cache of answers."""

    def __init__(self, server: MathServer) -> None:
        self.server = server
        self._inflight: dict[str, Generation] = {}
        self._asked: dict[str, int] = {}  # requests per document so far: only the newest is answered
        self._shown: collections.OrderedDict[str, tuple[Anchor, str]] = collections.OrderedDict()
        self._cache: collections.OrderedDict[tuple[str, int | None, int, int], str | None] = collections.OrderedDict()

    def context(self, uri: str, line: int, character: int) -> MathContext | None:
        """The context at a position, or None where suggestions are off for the document's language."""
        doc = self.server.workspace.get_text_document(uri)
        language = document_language(doc)
        if not self.server.settings.enabled_for(language):
            return None
        return extract_context(doc.source, line, cursor_index(doc, line, character), language)

    async def next_step(self, uri: str, line: int, character: int, explicit: bool) -> str | None:
        """The suggestion at the cursor, None when there is none (or it was superseded)."""
        doc = self.server.workspace.get_text_document(uri)
        key = (uri, doc.version, line, character)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        source, language, offset = self._document_at(uri, line, character)
        if not self.server.settings.enabled_for(language):
            return None
        here = Anchor(source[:offset], source[offset:])
        asked = self._asked[uri] = self._asked.get(uri, 0) + 1
        text = await self._suggestion_at(uri, here, language, explicit, lambda: self._asked[uri] == asked)
        if self._asked[uri] != asked:
            return None  # superseded by a newer request
        self._cache[key] = text
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return text

    async def _suggestion_at(self, uri: str, here: Anchor, language: str, explicit: bool, newest: Callable[[], bool]) -> str | None:
        """The rest of the shown suggestion if the user is typing along it; else the generation in
        flight if it agrees with what was typed since it started; else a new generation."""
        gen = self._inflight.get(uri)
        shown = self._shown.get(uri)
        if shown is not None and (typed := shown[0].typed_to(here)) is not None and (rest := rest_of(shown[1], typed)) is not None:
            if gen is not None:
                self._drop(uri, gen)  # asked where the user no longer is
            return rest
        if gen is not None and not gen.followable_from(here):
            self._drop(uri, gen)
            gen = None
        if gen is None:
            gen = self._start(uri, here, language, explicit)
        text = await self._wait(uri, gen)
        if gen.anchor is here or not newest():
            return text
        typed = gen.anchor.typed_to(here)
        if text is not None and typed is not None and (rest := rest_of(text, typed)) is not None:
            return rest
        # it went another way than the user typed: ask for this position
        return await self._wait(uri, self._start(uri, here, language, explicit))

    def _start(self, uri: str, here: Anchor, language: str, explicit: bool) -> Generation:
        gen = Generation(here)
        gen.task = asyncio.ensure_future(self._run(gen, uri, language, explicit))
        self._inflight[uri] = gen
        return gen

    def _drop(self, uri: str, gen: Generation) -> None:
        """Cancel a generation (its model request with it) unless it has finished."""
        if gen.task is not None:
            gen.task.cancel()
        if self._inflight.get(uri) is gen:
            del self._inflight[uri]

    async def _wait(self, uri: str, gen: Generation) -> str | None:
        """The generation's suggestion; None if a newer keystroke cancelled it. A request cancelled
        by its client ($/cancelRequest) leaves the generation running a moment, for the request
        the editor sends after the next keystroke to follow; if none does, it is cancelled."""
        assert gen.task is not None
        gen.waiters += 1
        try:
            return await asyncio.shield(gen.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # $/cancelRequest for this very request: let pygls answer it
            return None
        finally:
            gen.waiters -= 1
            if not gen.waiters and not gen.task.done():
                asyncio.get_running_loop().call_later(ORPHAN_GRACE_S, lambda: None if gen.waiters else self._drop(uri, gen))

    async def _run(self, gen: Generation, uri: str, language: str, explicit: bool) -> str | None:
        try:
            text = await self._generate(gen, language, explicit)
        finally:
            if self._inflight.get(uri) is gen:
                del self._inflight[uri]
        if text:
            self._shown[uri] = (gen.anchor, text)
            self._shown.move_to_end(uri)
            while len(self._shown) > SHOWN_DOCUMENTS:
                self._shown.popitem(last=False)
        return text

    async def _generate(self, gen: Generation, language: str, explicit: bool) -> str | None:
        """The checked suggestion at the generation's anchor (the document as it was asked, not as
        it is after the debounce or the model)."""
        settings = self.server.settings
        if not explicit and settings.debounce_ms:
            await asyncio.sleep(settings.debounce_ms / 1000)
        doc, offset = gen.anchor.before + gen.anchor.after, len(gen.anchor.before)
        line = gen.anchor.before.count("\n")
        ctx = extract_context(doc, line, offset - (gen.anchor.before.rfind("\n") + 1), language)
        if not ctx.prefix.strip():
            return None
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
        params = settings.inline.replace(stop=list(prompt.stop), samples=1)
        client = await self.server.gateway.client()
        gen.asking = True
        try:
            async with client.stream(prompt.text, params) as deltas:
                async for d in deltas:
                    gen.raw += d.text
        except ServerUnavailable as exc:
            self.server.gateway.lost(exc)
            raise
        text = postprocess(gen.raw, ctx)
        if not text or settings.verify != "filter":
            return text
        [results] = await asyncio.to_thread(self.server.checker.check_suggestions, doc, language, offset, [text])
        unknown_names = new_variables(doc[:offset], text, language)
        if verdict_of(results) != "wrong" and not unknown_names:
            return text
        why = f"it uses {', '.join(sorted(unknown_names))}, named nowhere above" if unknown_names else \
            next(r.message for r in results if r.verdict == "wrong")
        log.info("suggestion %r not shown (%s); sampling %d more", text, why, RESAMPLE)
        return await self._verified_alternative(prompt, ctx, doc, language, offset, exclude=text)

    def _document_at(self, uri: str, line: int, character: int) -> tuple[str, str, int]:
        """The document's text (newlines normalised), language, and the cursor's offset in that text."""
        doc = self.server.workspace.get_text_document(uri)
        text = doc.source.replace("\r\n", "\n")
        lines = text.split("\n")
        offset = sum(len(s) + 1 for s in lines[:line]) + min(cursor_index(doc, line, character), len(lines[line]) if line < len(lines) else 0)
        return text, document_language(doc), min(offset, len(text))

    async def _verified_alternative(self, prompt: Prompt, ctx: MathContext, doc: str, language: str, offset: int,
                                    exclude: str) -> str | None:
        """The most likely of RESAMPLE sampled candidates that the checker verifies, or None."""
        params = self.server.settings.inline.replace(stop=list(prompt.stop), samples=RESAMPLE,
                                                     temperature=max(self.server.settings.inline.temperature, RESAMPLE_TEMPERATURE))
        completion = await self.sample(prompt.text, params)
        candidates = [s.text for s in ranked(completion.choices, ctx) if s.text != exclude and not new_variables(doc[:offset], s.text, language)]
        if not candidates:
            return None
        checked = await asyncio.to_thread(self.server.checker.check_suggestions, doc, language, offset, candidates)
        return next((c for c, r in zip(candidates, checked, strict=True) if verdict_of(r) == Verdict.VERIFIED), None)

    async def sample(self, prompt: str, params: SamplingParams) -> Completion:
        """One batched request (n = params.samples) with log-probabilities; a lost model process is
        reported once by the gateway, and the error raised."""
        client = await self.server.gateway.client()
        try:
            return await client.complete(prompt, params, logprobs=True)
        except ServerUnavailable as exc:
            self.server.gateway.lost(exc)
            raise

    async def proof_steps(self, uri: str, line: int, character: int) -> list[ProofStep]:
        """Distinct candidates for the next step of the proof at the cursor, most likely first."""
        ctx = self.context(uri, line, character)
        if ctx is None or not ctx.in_proof:
            return []
        settings = self.server.settings
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment, proof_step=True)
        # twice as many samples as candidates shown (one batched request): likely steps repeat
        params = settings.proof.replace(stop=list(prompt.stop), samples=min(2 * settings.candidates, 16))
        completion = await self.sample(prompt.text, params)
        steps = ranked(completion.choices, ctx, PROOF_STEP_FILTERS)
        if settings.verify == "filter" and steps:
            doc, language, offset = self._document_at(uri, line, character)
            # a step continues the text after a space or a new line; its mathematics is read in place
            checked = await asyncio.to_thread(self.server.checker.check_suggestions, doc, language, offset, [" " + s.text for s in steps])
            steps = [ProofStep(s.text, s.logprob, verdict_of(r)) for s, r in zip(steps, checked, strict=True)]
            # stable: likeliest first within
            steps = sorted((s for s in steps if s.verdict != Verdict.WRONG), key=lambda s: s.verdict != Verdict.VERIFIED)
        return steps[: settings.candidates]


def ranked(choices: Sequence[Choice], ctx: MathContext, filters: tuple[Filter, ...] = FILTERS) -> list[ProofStep]:
    """Distinct post-processed candidates, most likely (mean token log-probability) first."""
    seen: dict[str, ProofStep] = {}
    for choice in choices:
        text = postprocess(choice.text, ctx, filters)
        if text is None:
            continue
        norm = re.sub(r"\s+", " ", text).strip()
        score = (choice.logprob or 0.0) / max(choice.tokens or 1, 1)
        if norm not in seen or seen[norm].logprob < score:
            seen[norm] = ProofStep(norm, score)
    return sorted(seen.values(), key=lambda s: -s.logprob)


def document_language(doc: TextDocument) -> str:
    """The language the client gave a document, else the one its name says."""
    return doc.language_id or language_of(doc.uri)
