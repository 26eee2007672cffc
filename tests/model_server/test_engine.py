"""The engine's cache tricks change no output: batched, chunked, padded and reused generations are the
greedy tokens `model.generate` gives for each prompt alone (embedded model, in-process engine).

Every test here loads the model, so the module is `slow` (out of `make test-fast`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import torch

from mathcore.sampling import SamplingParams
from model_server.engine import Engine
from model_server.loading import LoadedModel, load_model
from model_server.requests import Event

pytestmark = pytest.mark.slow

SHORT = "We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= "
OTHER = "User: Solve for $x$: $7x - 4 = 31$.\n\nAssistant:"
LONG = "".join(f"Problem: Solve ${k}x + 4 = {4 + 3 * k}$.\nSolution: ${k}x = {3 * k}$ so $x = 3$.\n" for k in range(2, 42)) + SHORT


@pytest.fixture(scope="module")
def loaded() -> LoadedModel:
    return load_model("embedded")


@pytest.fixture
def engine(loaded: LoadedModel) -> Iterator[Engine]:
    e = Engine(loaded, max_batch=8, max_queue=16)
    e.start()
    yield e
    e.stop()


def alone(loaded: LoadedModel, text: str, n: int) -> list[int]:
    """Greedy tokens of `model.generate`, up to and including the first end-of-sequence."""
    ids = loaded.tokenizer(text, return_tensors="pt")["input_ids"].to(loaded.device)
    with torch.inference_mode():
        out = loaded.model.generate(ids, max_new_tokens=n, do_sample=False)[0, ids.shape[1] :].tolist()
    eos = loaded.tokenizer.eos_token_id
    return out[: out.index(eos) + 1] if eos in out else out


def until_eos(tokens: tuple[int, ...], eos: int) -> list[int]:
    out = list(tokens)
    return out[: out.index(eos) + 1] if eos in out else out


async def collect(engine: Engine, text: str, n: int, log: list[tuple[str, Event]] | None = None, **kw: object) -> list[list[int]]:
    req = engine.submit(engine.loaded.tokenizer(text)["input_ids"], SamplingParams(max_new_tokens=n, **kw), ignore_eos=True)
    finals = []
    async for ev in req.events():
        if log is not None:
            log.append((text, ev))
        if ev.finish_reason:
            finals.append(ev)
    return [until_eos(ev.token_ids, engine.eos_id) for ev in sorted(finals, key=lambda e: e.index)]


def test_generations_match_generate_alone_whatever_shares_the_batch(engine: Engine, loaded: LoadedModel) -> None:
    """Prompts of different lengths prefilled together (padded), one with 3 samples, rows leaving at
    different steps (the last row moves into the gap), and a long prompt prefilled in chunks while
    the others decode: every sequence is what the model gives for its prompt alone."""

    async def scenario() -> tuple[list[list[list[int]]], list[tuple[str, Event]]]:
        log: list[tuple[str, Event]] = []
        first = [asyncio.ensure_future(collect(engine, t, n, log)) for t, n in ((SHORT, 30), (OTHER, 90), (SHORT + "x^2", 60))]
        first.append(asyncio.ensure_future(collect(engine, OTHER, 40, log, samples=3)))
        while not log:
            await asyncio.sleep(0.005)
        log.append(("submitted", Event(0, "")))
        long = await collect(engine, LONG, 12, log)
        return [*(await asyncio.gather(*first)), long], log

    results, log = asyncio.run(scenario())
    expected = [alone(loaded, t, n) for t, n in ((SHORT, 30), (OTHER, 90), (SHORT + "x^2", 60), (OTHER, 40), (LONG, 12))]
    assert results[0] == [expected[0]] and results[1] == [expected[1]] and results[2] == [expected[2]]
    assert results[3] == [expected[3]] * 3  # greedy samples share one prefill and agree
    assert results[4] == [expected[4]]
    # the long prompt did not stall the batch: the others kept streaming while it was prefilled
    submitted = next(i for i, (text, _) in enumerate(log) if text == "submitted")
    first_long = next(i for i, (text, _) in enumerate(log) if text == LONG)
    assert first_long - submitted > 5


def test_a_prompt_that_starts_like_a_recent_one_prefills_only_the_rest(engine: Engine, loaded: LoadedModel) -> None:
    """An editor's keystroke at the end of a long document: the document's cache is reused, the
    answer is the same as from scratch, and a cancelled prompt leaves what it prefilled."""
    n_long = len(loaded.tokenizer(LONG)["input_ids"])

    async def scenario() -> list[list[int]]:
        out = await collect(engine, LONG, 8)
        cached = engine.metrics.prompt_tokens_cached
        typed = await collect(engine, LONG + "x", 8)
        assert engine.metrics.prompt_tokens_cached - cached >= n_long - 2
        await collect(engine, LONG[: len(LONG) // 2], 4)  # the cursor goes up the document...
        cached = engine.metrics.prompt_tokens_cached
        await collect(engine, LONG + "y", 4)  # ...and back to its end: the document is still cached
        assert engine.metrics.prompt_tokens_cached - cached >= n_long - 2
        return out + typed

    prompt_before = engine.metrics.prompt_tokens
    results = asyncio.run(scenario())
    assert results == [alone(loaded, LONG, 8), alone(loaded, LONG + "x", 8)]
    assert engine.metrics.prompt_tokens - prompt_before < n_long + 30  # the later prompts cost a few tokens each


def test_a_request_the_device_has_no_memory_for_fails_alone(engine: Engine, loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of GPU memory for a long request: the saved prompts are dropped and the allocation tried
    again, then that request alone gets a message saying what to change; the next one is served."""

    async def scenario() -> list[list[int]]:
        await collect(engine, LONG, 2)  # the cache exists, and a prompt is saved
        assert engine.scheduler.prefixes is not None and len(engine.scheduler.prefixes) == 1
        cache = engine.runner.cache
        assert cache is not None
        real = cache.reserve

        def reserve(length: int, slots: int) -> None:
            if length > 3000:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            real(length, slots)

        monkeypatch.setattr(cache, "reserve", reserve)
        with pytest.raises(RuntimeError, match=r"no memory left for this request's cache \(3044 tokens, 1 sequences.*smaller --max-batch"):
            await collect(engine, SHORT, 3000)
        assert len(engine.scheduler.prefixes) == 0
        return await collect(engine, SHORT, 5)

    assert asyncio.run(scenario()) == [alone(loaded, SHORT, 5)]
    assert engine.stats() == {"running": 0, "queued": 0, "rows": 0}


def test_a_cache_that_follows_use_resizes_under_running_rows_without_changing_them(loaded: LoadedModel) -> None:
    """As on a GPU: slots grow with a burst of rows; a long prompt that arrives while one row still
    runs grows the positions and gives back the slots nobody uses, and every row's tokens are those
    of `generate` alone."""
    engine = Engine(loaded, max_batch=8, max_queue=16, cache_follows_use=True)
    engine.start()

    async def scenario() -> tuple[list[list[list[int]]], tuple[int, int], tuple[int, int]]:
        # long enough (ignoring EOS) to outlast the burst and the long prompt even when speculation
        # accepts several tokens a step on a loaded machine
        running = asyncio.ensure_future(collect(engine, OTHER, 1000))
        burst = await asyncio.gather(*(collect(engine, SHORT + "x" * i, 6) for i in range(5)))
        assert not running.done()
        cache = engine.runner.cache
        assert cache is not None
        before = (cache.slots, cache.capacity)
        long = await collect(engine, LONG, 12)
        assert not running.done()
        after = (cache.slots, cache.capacity)
        return [*burst, await running, long], before, after

    try:
        results, before, after = asyncio.run(scenario())
    finally:
        engine.stop()
    needed = len(loaded.tokenizer(LONG)["input_ids"]) + 12
    assert before[0] == 12 and before[1] < needed <= after[1] and after[0] == 8, (before, after)
    expected = [alone(loaded, SHORT + "x" * i, 6) for i in range(5)] + [alone(loaded, OTHER, 1000), alone(loaded, LONG, 12)]
    assert results == [[e] for e in expected]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU (run on a lent GPU machine)")
def test_on_cuda_replayed_decode_steps_give_the_tokens_of_generate_alone() -> None:
    """Decode steps replayed from CUDA graphs (rows padded to a power of two, columns to a bucket)
    give each prompt the greedy tokens `model.generate` gives it alone."""
    cuda = load_model("embedded", device="cuda", dtype="float32")
    engine = Engine(cuda, max_batch=8, max_queue=16)
    engine.start()
    try:
        cases = ((SHORT, 30), (OTHER, 90), (SHORT + "x^2", 60), (LONG, 40), (OTHER, 300))

        async def scenario() -> list[list[list[int]]]:
            return await asyncio.gather(*(collect(engine, t, n) for t, n in cases))

        results = asyncio.run(scenario())
        graphs = engine.runner.graphs
        assert graphs is not None and graphs.enabled and graphs.captured, "no decode step was replayed"
    finally:
        engine.stop()
    for (text, n), got in zip(cases, results, strict=True):
        assert got == [alone(cuda, text, n)], text[:40]


def test_engine_bookkeeping_without_http(loaded: LoadedModel) -> None:
    """Requests of different lengths and sample counts join and leave one batch; a cancelled one leaves at once."""
    engine = Engine(loaded, max_batch=8, max_queue=8)
    engine.start()
    tok = engine.loaded.tokenizer

    async def scenario() -> tuple[dict[str, int], list[tuple[int, int]], dict[str, int]]:
        ids = tok("We expand the product.\n")["input_ids"]
        reqs = [engine.submit(ids, SamplingParams(max_new_tokens=n, samples=s, temperature=0.7, seed=1), ignore_eos=True)
                for n, s in ((5, 1), (9, 3), (13, 2))]
        doomed = engine.submit(ids, SamplingParams(max_new_tokens=500), ignore_eos=True)
        seen = doomed.events().__aiter__()
        await seen.__anext__()  # it runs...
        engine.cancel(doomed)  # ...and leaves the batch before the next step
        during = engine.stats()
        counts = []
        for req in reqs:
            finals = [ev for ev in [e async for e in req.events()] if ev.finish_reason]
            counts += [(ev.tokens, req.params.max_new_tokens) for ev in finals]
        await asyncio.sleep(0.05)
        return during, counts, engine.stats()

    try:
        during, counts, after = asyncio.run(scenario())
    finally:
        engine.stop()
    assert during["rows"] <= 1 + 3 + 2 + 1
    assert len(counts) == 1 + 3 + 2 and all(got == wanted for got, wanted in counts)
    assert after == {"running": 0, "queued": 0, "rows": 0}
    assert engine.metrics.cancelled == 1 and engine.metrics.finished == 3
