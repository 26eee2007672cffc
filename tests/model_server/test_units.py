"""Unit tests of the engine's pure parts: stop strings, incremental text, sampling rules."""

from __future__ import annotations

import asyncio

import torch

from mathcore.sampling import SamplingParams
from model_server.engine import Event, Request
from model_server.sampler import sample_rows
from model_server.textstream import StopText


def feed_all(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    s, text, out = StopText(stops), "", ""
    for piece in pieces:
        text += piece
        delta, stopped = s.feed(text)
        out += delta
        if stopped:
            return out, True
    delta, _ = s.feed(text, final=True)
    return out + delta, False


def test_stop_string_split_across_tokens_is_never_sent() -> None:
    assert feed_all(["\nProblem:"], ["x = 2", "\nPro", "blem:", " more"]) == ("x = 2", True)


def test_held_text_that_was_not_a_stop_is_sent() -> None:
    assert feed_all(["\nProblem:"], ["a", "\nPro", "ve it"]) == ("a\nProve it", False)


def test_half_a_character_is_held_back() -> None:
    s = StopText([])
    assert s.feed("ab\ufffd") == ("ab", False)
    assert s.feed("abé") == ("é", False)


def test_greedy_rows_take_the_argmax_and_sampled_rows_follow_their_seed() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]] * 3)
    greedy = SamplingParams()
    hot = SamplingParams(temperature=1.0, top_k=2)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    tokens, logprobs = sample_rows(logits, [greedy, hot, hot], [None, g1, g2])
    assert tokens[0] == 1
    assert tokens[1] == tokens[2] and tokens[1] in (1, 3)  # top_k=2 keeps only the two best
    assert abs(logprobs[0] - torch.log_softmax(logits[0], -1)[1].item()) < 1e-6


def test_top_p_keeps_the_smallest_nucleus() -> None:
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
    p = SamplingParams(temperature=1.0, top_p=0.5)
    seen = {sample_rows(logits, [p], [torch.Generator().manual_seed(s)])[0][0] for s in range(50)}
    assert seen == {0}


def test_vanishing_temperature_and_top_p_are_greedy_not_nan() -> None:
    """Found by the API fuzz: 5e-324 used to overflow the logits into NaN probabilities (a 500)."""
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    for p in (SamplingParams(temperature=5e-324), SamplingParams(temperature=1.0, top_p=5e-324)):
        tokens, _ = sample_rows(logits, [p], [torch.Generator().manual_seed(0)])
        assert tokens == [1]


def test_a_reader_that_does_not_read_holds_one_merged_event_per_sample() -> None:
    async def scenario() -> tuple[int, list[Event]]:
        req = Request([1, 2], SamplingParams(samples=2), asyncio.get_running_loop())
        for i in range(1000):  # the engine thread keeps delivering; nobody reads
            req.deliver([Event(0, "a"), Event(1, "b", "length" if i == 999 else None)])
        req.deliver([Event(0, "!", "stop")])
        await asyncio.sleep(0)  # let the loop run the deliveries
        held = len(req._pending)
        return held, [ev async for ev in req.events()]

    held, events = asyncio.run(scenario())
    assert held == 2
    texts = {ev.index: ev.text for ev in events}
    assert texts == {0: "a" * 1000 + "!", 1: "b" * 1000}
    assert {ev.index: ev.finish_reason for ev in events} == {0: "stop", 1: "length"}


def test_engine_bookkeeping_without_http() -> None:
    """Requests of different lengths and sample counts join and leave one batch; a cancelled one leaves at once."""
    from model_server.engine import Engine
    from model_server.loading import load_model

    engine = Engine(load_model("embedded"), max_batch=8, max_queue=8)
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
