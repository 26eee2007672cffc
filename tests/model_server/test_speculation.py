"""Speculative decoding changes no output: the same requests through an engine that drafts from the
text at hand and one that does not give the same tokens, greedy or seeded, whatever shares the batch
(embedded model, in-process engines; `slow`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mathcore.prompts import solve_prompt
from mathcore.sampling import SamplingParams
from model_server.engine import Engine
from model_server.loading import LoadedModel, load_model
from tests.conftest import RunningServer

pytestmark = pytest.mark.slow

DERIVATION = "We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= "
SOLUTION = solve_prompt("Compute $7 + 10 + 13 + \\dots + 40$.", "instruct").text
LONG = "".join(f"Problem: Solve ${k}x + 4 = {4 + 3 * k}$.\nSolution: ${k}x = {3 * k}$ so $x = 3$.\n" for k in range(2, 42)) + DERIVATION
CASES = (  # prompt, max tokens, stop strings: prompts of different lengths, some ending at a stop string
    (SOLUTION, 160, ()),
    (DERIVATION, 40, ("\\end",)),
    (DERIVATION + "x^2", 60, ()),
    (LONG, 50, ()),
    ("User: Solve for $x$: $7x - 4 = 31$.\n\nAssistant:", 120, ("\n",)),
    (SOLUTION, 200, ("common difference",)),
    (solve_prompt("Compute $385 + 947$.", "instruct").text, 200, ()),
)
CANCELLED = (0, 6)


@pytest.fixture(scope="module")
def loaded() -> LoadedModel:
    return load_model("embedded")


@pytest.fixture(scope="module")
def engines(loaded: LoadedModel) -> Iterator[tuple[Engine, Engine]]:
    plain, speculating = Engine(loaded, max_batch=8, speculative_tokens=0), Engine(loaded, max_batch=8, speculative_tokens=4)
    speculating.scheduler.speculate_rows = 8  # every row of these batches drafts
    plain.start()
    speculating.start()
    yield plain, speculating
    plain.stop()
    speculating.stop()


async def run(engine: Engine, text: str, params: SamplingParams, cancel_after: int = 0) -> tuple[list[tuple[int, ...]], list[str]]:
    """Final token ids and streamed text per sample (cancelled once `cancel_after` characters came)."""
    req = engine.submit(engine.loaded.tokenizer(text)["input_ids"], params)
    finals, streamed = {}, [""] * params.samples
    async for ev in req.events():
        streamed[ev.index] += ev.text
        if ev.finish_reason:
            finals[ev.index] = ev.token_ids
        if cancel_after and len(streamed[0]) >= cancel_after:
            engine.cancel(req)
            break
    return [finals[i] for i in sorted(finals)], streamed


def batch(engine: Engine, cancel: bool) -> list[tuple[list[tuple[int, ...]], list[str]]]:
    """Every case at once; with `cancel`, the first and third (long, no stop string) are cancelled part way."""

    async def scenario() -> list[tuple[list[tuple[int, ...]], list[str]]]:
        jobs = [run(engine, text, SamplingParams(max_new_tokens=n, stop=stop), cancel_after=12 if cancel and i in CANCELLED else 0)
                for i, (text, n, stop) in enumerate(CASES)]
        return await asyncio.gather(*jobs)

    return asyncio.run(scenario())


def test_greedy_tokens_are_the_same_with_and_without_speculation(engines: tuple[Engine, Engine]) -> None:
    """A batch of prompts of different lengths (one prefilled in chunks), some ending at stop strings,
    two cancelled mid-way: every finished row has the same tokens and text as without drafts, and
    the cancelled ones streamed a prefix of it."""
    plain, speculating = engines
    expected = batch(plain, cancel=False)
    assert all(len(expected[i][1][0]) > 100 for i in CANCELLED)  # long enough to be cancelled part way
    drafted, accepted = speculating.metrics.draft_tokens, speculating.metrics.accepted_tokens
    cancelled = speculating.metrics.cancelled
    got = batch(speculating, cancel=True)
    for i, ((want_ids, want_text), (ids, text)) in enumerate(zip(expected, got, strict=True)):
        if i in CANCELLED:
            assert want_text[0].startswith(text[0]) and len(text[0]) < len(want_text[0]), (i, text)
        else:
            assert (ids, text) == (want_ids, want_text), CASES[i][0][:40]
    assert speculating.metrics.accepted_tokens - accepted > 0  # drafts were checked and taken
    assert speculating.metrics.draft_tokens - drafted > speculating.metrics.accepted_tokens - accepted
    assert speculating.stats() == {"running": 0, "queued": 0, "rows": 0}
    assert speculating.metrics.cancelled - cancelled == len(CANCELLED)


def test_a_seed_reproduces_a_sample_with_and_without_speculation(engines: tuple[Engine, Engine]) -> None:
    """Each position is sampled from the model's own distribution with that position's seeded noise,
    so drafts change how fast a sample comes, not which one."""
    plain, speculating = engines
    params = SamplingParams(max_new_tokens=120, temperature=0.8, top_p=0.95, top_k=50, seed=1234, samples=3)

    async def both() -> list[tuple[list[tuple[int, ...]], list[str]]]:
        return [await run(speculating, SOLUTION, params), await run(speculating, SOLUTION, params), await run(plain, SOLUTION, params)]

    accepted = speculating.metrics.accepted_tokens
    first, again, without = asyncio.run(both())
    assert first == again == without
    assert len(set(first[0])) > 1  # three different samples, each reproduced
    assert speculating.metrics.accepted_tokens > accepted


def test_the_model_process_counts_drafted_and_accepted_tokens(server: RunningServer) -> None:
    """`mathassist serve` on a CPU speculates by default; /metrics shows the drafts and how many were kept."""
    import httpx

    drafted = server.metric("mathassist_spec_decode_num_draft_tokens_total")
    accepted = server.metric("mathassist_spec_decode_num_accepted_tokens_total")
    body = {"prompt": SOLUTION, "max_tokens": 120, "temperature": 0}
    r = httpx.post(f"{server.url}/v1/completions", json=body, headers=server.headers, timeout=120)
    assert r.status_code == 200, r.text
    more_drafted = server.metric("mathassist_spec_decode_num_draft_tokens_total") - drafted
    more_accepted = server.metric("mathassist_spec_decode_num_accepted_tokens_total") - accepted
    assert more_drafted > 0 and 0 < more_accepted <= more_drafted
