"""Suggestions in a document, for every editor front end (the language server, JupyterLab).

A front end hands over the document as it has it (`Cursor`: the text, the cursor's offset, the
language) and gets back what to show:

- `Suggester.next_step`: the one-line continuation at the cursor (ghost text, or a completion
  item). Typing along the shown suggestion gets the rest of it without asking the model, and a
  request whose keystrokes agree with the generation in flight waits for that one
  (`assist.following`). Otherwise automatic triggers wait `debounce_ms` first, and a newer request
  for the same document supersedes the one in flight, whose generation is then cancelled in the
  model process (the stream's connection closes). Answers are cached by (document, version, offset).
- `Suggester.proof_steps`: several candidates for the next proof step, sampled in one request
  (n), de-duplicated, ranked by the model's mean token log-probability, verified ones first;
  none when the model's likeliest step declines the proof (`mathcore.answers.declined`), rather
  than a fabricated step.
- `Suggester.replacements`: right sides for a wrong row that the checker verifies (quick fixes).

With `verify` = `filter` (the default) every candidate is read by the derivation checker against
the lines above it (`checker.check_suggestions`, in a thread over its time-bounded workers): a
candidate it refutes is never shown, nor an inline one that uses a variable named nowhere above
(`mathcore.steps.new_variables`: `x^2 - 5x` in a derivation about `t`). When the greedy
suggestion is refuted, RESAMPLE more are sampled in one batched request and the most likely
verified one is shown, else nothing. All three go through one pipeline, `sample_checked`:
sample, rank, check, keep what is not refuted.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from assist.connection import Connection
from assist.following import Anchor, Generation, rest_of
from assist.settings import Settings
from checker import check_suggestions, verdict_of
from mathcore.answers import declined
from mathcore.context import MathContext, extract_context
from mathcore.languages import Language
from mathcore.postprocess import FILTERS, Filter, drop_empty, postprocess, strip_trailing_space
from mathcore.prompts import Prompt, continuation_prompt
from mathcore.sampling import MAX_SAMPLES, SamplingParams
from mathcore.steps import new_variables
from model_server.client import AsyncClient, Choice, ServerUnavailable

__all__ = ["PROOF_STEP_FILTERS", "RESAMPLE", "RESAMPLE_TEMPERATURE", "Candidate", "Cursor", "Suggester", "ranked", "sample_checked"]

log = logging.getLogger(__name__)
CACHE_SIZE = 128
FIXES_CACHE_SIZE = 64
SHOWN_DOCUMENTS = 32  # documents whose last suggestion is kept for typing along it
ORPHAN_GRACE_S = 0.1  # a generation whose request was cancelled waits this long for the next keystroke's request
RESAMPLE = 4  # candidates sampled when the greedy suggestion is refuted (one request)
RESAMPLE_TEMPERATURE = 0.7
FIX_SEED = 0  # the same wrong row gets the same offers each time it is asked
PROOF_STEP_FILTERS = (strip_trailing_space, drop_empty)  # a step is a sentence: no math-line trimming
T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """A suggestion, its mean token log-probability, and the checker's verdict on its mathematics."""

    text: str
    logprob: float
    verdict: str = "unknown"


@dataclass(frozen=True)
class Cursor:
    """A document (newlines normalised to `\\n`) with a cursor in it, as a front end has it."""

    text: str
    offset: int
    language: Language

    @property
    def before(self) -> str:
        return self.text[: self.offset]

    def context(self) -> MathContext:
        """What surrounds the cursor (`mathcore.context`)."""
        line_start = self.text.rfind("\n", 0, self.offset) + 1
        return extract_context(self.text, self.text.count("\n", 0, self.offset), self.offset - line_start, self.language)


def ranked(choices: Sequence[Choice], ctx: MathContext, filters: tuple[Filter, ...] = FILTERS) -> list[Candidate]:
    """Distinct post-processed candidates, most likely (mean token log-probability) first."""
    seen: dict[str, Candidate] = {}
    for choice in choices:
        text = postprocess(choice.text, ctx, filters)
        if text is None:
            continue
        norm = re.sub(r"\s+", " ", text).strip()
        score = (choice.logprob or 0.0) / max(choice.tokens or 1, 1)
        if norm not in seen or seen[norm].logprob < score:
            seen[norm] = Candidate(norm, score)
    return sorted(seen.values(), key=lambda s: -s.logprob)


async def sample_checked(
    client: AsyncClient, prompt: Prompt, at: Cursor, params: SamplingParams, *, filters: tuple[Filter, ...] = FILTERS,
    exclude: str | None = None, lead: str = "", verify: bool = True, known_names: bool = False,
) -> list[Candidate]:
    """Sample `params.samples` continuations in one request, rank them, and keep those the checker
    does not refute (verified first, likeliest first within), each read in place at the cursor.

    `exclude` drops a candidate already known (the refuted greedy one, the row's current side);
    `lead` is what joins a candidate to the text (a space before a proof step's sentence);
    `known_names` drops candidates that use a variable named nowhere above.
    """
    completion = await client.complete(prompt.text, params, logprobs=True)
    ctx = at.context()
    steps = [s for s in ranked(completion.choices, ctx, filters) if exclude is None or s.text.strip() != exclude.strip()]
    if known_names:
        steps = [s for s in steps if not new_variables(at.before, s.text, at.language)]
    if not verify or not steps:
        return steps
    checked = await asyncio.to_thread(check_suggestions, at.text, at.language, at.offset, [lead + s.text for s in steps])
    steps = [dataclasses.replace(s, verdict=verdict_of(r)) for s, r in zip(steps, checked, strict=True)]
    return sorted((s for s in steps if s.verdict != "wrong"), key=lambda s: s.verdict != "verified")  # stable: likeliest first within


class _Bounded(collections.OrderedDict[tuple[object, ...], T]):
    """A small LRU map: the answers a front end asks for again (the same cursor, the same wrong row)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: tuple[object, ...], value: T) -> T:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class Suggester:
    """A front end's suggestions: the generation in flight per document, the suggestion last shown
    in each (typed along, `following`), and small caches of answers.

    `settings` is read at every request (the user may change them at any time); `connection`
    gives the client and hears of a model process that went away.
    """

    def __init__(self, settings: Callable[[], Settings], connection: Connection) -> None:
        self.settings = settings
        self.connection = connection
        self._inflight: dict[str, Generation] = {}
        self._asked: dict[str, int] = {}  # requests per document so far: only the newest is answered
        self._shown: collections.OrderedDict[str, tuple[Anchor, str]] = collections.OrderedDict()
        self._answers: _Bounded[str | None] = _Bounded(CACHE_SIZE)
        self._fixes: _Bounded[list[str]] = _Bounded(FIXES_CACHE_SIZE)

    async def next_step(self, doc: str, version: int | None, at: Cursor, explicit: bool) -> str | None:
        """The suggestion at the cursor in document `doc`, None when there is none (or it was superseded)."""
        key = (doc, version, at.offset)
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        here = Anchor(at.before, at.text[at.offset:])
        asked = self._asked[doc] = self._asked.get(doc, 0) + 1
        text = await self._suggestion_at(doc, here, at.language, explicit, lambda: self._asked[doc] == asked)
        if self._asked[doc] != asked:
            return None  # superseded by a newer request
        return self._answers.put(key, text)

    async def proof_steps(self, at: Cursor) -> list[Candidate]:
        """Distinct candidates for the next step of the proof at the cursor, verified ones first."""
        ctx = at.context()
        if not ctx.in_proof:
            return []
        settings = self.settings()
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment, proof_step=True)
        # twice as many samples as candidates shown (one batched request): likely steps repeat
        params = settings.proof.replace(stop=list(prompt.stop), samples=min(2 * settings.candidates, MAX_SAMPLES))
        # a step continues the text after a space or a new line; its mathematics is read in place
        steps = await self._reporting(self._sample_checked(prompt, at, params, filters=PROOF_STEP_FILTERS, lead=" ",
                                                           verify=settings.verify == "filter"))
        refusals = [s for s in steps if declined(s.text)]
        steps = [s for s in steps if not declined(s.text)]
        if refusals and (not steps or max(s.logprob for s in refusals) >= max(s.logprob for s in steps)):
            log.info("the model declines to prove this: %s", refusals[0].text)
            return []  # its likeliest step is "I cannot prove this": no fabricated step instead
        return steps[: settings.candidates]

    async def replacements(self, doc: str, version: int | None, at: Cursor, current: str) -> list[str]:
        """Right sides for the row cut at the cursor (its current right side `current` removed) that
        the checker verifies, most likely first; asked again for the same row, the same answer."""
        key = (doc, version, at.offset, current)
        if key not in self._fixes:
            ctx = at.context()
            prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
            params = self._resampling(prompt).replace(seed=FIX_SEED)
            steps = await self._reporting(self._sample_checked(prompt, at, params, exclude=current))
            verified = [s.text for s in steps if s.verdict == "verified"]
            log.info("fixes for %r: %d candidates, %d verified", current, len(steps), len(verified))
            self._fixes.put(key, verified)
        return self._fixes[key]

    def _resampling(self, prompt: Prompt) -> SamplingParams:
        inline = self.settings().inline
        return inline.replace(stop=list(prompt.stop), samples=RESAMPLE, temperature=max(inline.temperature, RESAMPLE_TEMPERATURE))

    async def _sample_checked(self, prompt: Prompt, at: Cursor, params: SamplingParams, *, filters: tuple[Filter, ...] = FILTERS,
                              exclude: str | None = None, lead: str = "", verify: bool = True, known_names: bool = False) -> list[Candidate]:
        client = await self.connection.client()
        return await sample_checked(client, prompt, at, params, filters=filters, exclude=exclude, lead=lead, verify=verify,
                                    known_names=known_names)

    async def _reporting(self, work: Awaitable[T]) -> T:
        """Await `work`; a model process that went away is reported once by the connection, and the error raised."""
        try:
            return await work
        except ServerUnavailable as exc:
            self.connection.lost(exc)
            raise

    async def _suggestion_at(self, doc: str, here: Anchor, language: Language, explicit: bool, newest: Callable[[], bool]) -> str | None:
        """The rest of the shown suggestion if the user is typing along it; else the generation in
        flight if it agrees with what was typed since it started; else a new generation."""
        gen = self._inflight.get(doc)
        shown = self._shown.get(doc)
        if shown is not None and (typed := shown[0].typed_to(here)) is not None and (rest := rest_of(shown[1], typed)) is not None:
            if gen is not None:
                self._drop(doc, gen)  # asked where the user no longer is
            return rest
        if gen is not None and not gen.followable_from(here):
            self._drop(doc, gen)
            gen = None
        if gen is None:
            gen = self._start(doc, here, language, explicit)
        text = await self._wait(doc, gen)
        if gen.anchor is here or not newest():
            return text
        typed = gen.anchor.typed_to(here)
        if text is not None and typed is not None and (rest := rest_of(text, typed)) is not None:
            return rest
        # it went another way than the user typed: ask for this position
        return await self._wait(doc, self._start(doc, here, language, explicit))

    def _start(self, doc: str, here: Anchor, language: Language, explicit: bool) -> Generation:
        gen = Generation(here)
        gen.task = asyncio.ensure_future(self._run(gen, doc, language, explicit))
        self._inflight[doc] = gen
        return gen

    def _drop(self, doc: str, gen: Generation) -> None:
        """Cancel a generation (its model request with it) unless it has finished."""
        if gen.task is not None:
            gen.task.cancel()
        if self._inflight.get(doc) is gen:
            del self._inflight[doc]

    async def _wait(self, doc: str, gen: Generation) -> str | None:
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
                raise  # the client cancelled this very request: let the front end answer it
            return None
        finally:
            gen.waiters -= 1
            if not gen.waiters and not gen.task.done():
                asyncio.get_running_loop().call_later(ORPHAN_GRACE_S, lambda: None if gen.waiters else self._drop(doc, gen))

    async def _run(self, gen: Generation, doc: str, language: Language, explicit: bool) -> str | None:
        try:
            text = await self._generate(gen, language, explicit)
        finally:
            if self._inflight.get(doc) is gen:
                del self._inflight[doc]
        if text:
            self._shown[doc] = (gen.anchor, text)
            self._shown.move_to_end(doc)
            while len(self._shown) > SHOWN_DOCUMENTS:
                self._shown.popitem(last=False)
        return text

    async def _generate(self, gen: Generation, language: Language, explicit: bool) -> str | None:
        """The checked suggestion at the generation's anchor (the document as it was asked, not as
        it is after the debounce or the model)."""
        settings = self.settings()
        if not explicit and settings.debounce_ms:
            await asyncio.sleep(settings.debounce_ms / 1000)
        at = Cursor(gen.anchor.before + gen.anchor.after, len(gen.anchor.before), language)
        ctx = at.context()
        if not ctx.prefix.strip():
            return None
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
        params = settings.inline.replace(stop=list(prompt.stop), samples=1)
        client = await self.connection.client()
        gen.asking = True
        await self._reporting(self._stream_into(client, prompt, params, gen))
        text = postprocess(gen.raw, ctx)
        if not text or settings.verify != "filter":
            return text
        [results] = await asyncio.to_thread(check_suggestions, at.text, language, at.offset, [text])
        unknown_names = new_variables(at.before, text, language)
        if verdict_of(results) != "wrong" and not unknown_names:
            return text
        why = f"it uses {', '.join(sorted(unknown_names))}, named nowhere above" if unknown_names else \
            next(r.message for r in results if r.verdict == "wrong")
        log.info("suggestion %r not shown (%s); sampling %d more", text, why, RESAMPLE)
        others = await self._reporting(self._sample_checked(prompt, at, self._resampling(prompt), exclude=text, known_names=True))
        return next((s.text for s in others if s.verdict == "verified"), None)

    @staticmethod
    async def _stream_into(client: AsyncClient, prompt: Prompt, params: SamplingParams, gen: Generation) -> None:
        async with client.stream(prompt.text, params) as deltas:
            async for d in deltas:
                gen.raw += d.text
