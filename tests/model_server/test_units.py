"""Unit tests of the engine's pure parts: stop strings, incremental text, sampling rules, the prefix store."""

from __future__ import annotations

import asyncio
import types

import torch

from mathcore.sampling import SamplingParams
from model_server.kvcache import PrefixStore, SlotCache
from model_server.requests import Event, Request, deliver
from model_server.sampler import RowSampling, sample_rows
from model_server.textstream import Detokenizer, StopText


def feed_all(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    s, out = StopText(stops), ""
    for piece in pieces:
        delta, stopped = s.feed(piece)
        out += delta
        if stopped:
            return out, True
    delta, _ = s.feed("", final=True)
    return out + delta, False


def sample(logits: torch.Tensor, params: list[SamplingParams], seeds: list[int], step: int = 0) -> tuple[list[int], list[float]]:
    return sample_rows(logits, [RowSampling(p, seed, step) for p, seed in zip(params, seeds, strict=True)])


def test_stop_string_split_across_tokens_is_never_sent() -> None:
    assert feed_all(["\nProblem:"], ["x = 2", "\nPro", "blem:", " more"]) == ("x = 2", True)


def test_held_text_that_was_not_a_stop_is_sent() -> None:
    assert feed_all(["\nProblem:"], ["a", "\nPro", "ve it"]) == ("a\nProve it", False)


def test_half_a_character_is_held_back() -> None:
    s = StopText([])
    assert s.feed("ab\ufffd") == ("ab", False)
    assert s.feed("") == ("", False)
    assert s.feed("", final=True) == ("\ufffd", False)


def test_text_decoded_token_by_token_is_the_text_decoded_at_once() -> None:
    """Leading spaces, merged bytes and multi-byte characters come out exactly as one decode of all ids."""
    from transformers import AutoTokenizer

    from model_server.loading import EMBEDDED_DIR

    tok = AutoTokenizer.from_pretrained(EMBEDDED_DIR)
    texts = ["We expand the product: $(x + 3)(x - 7) = x^2 - 4x - 21$.", " leading space, é, ∑ and 😀 too", "\\\n&= 42"]
    gen = torch.Generator().manual_seed(0)
    runs = [tok(t)["input_ids"] for t in texts] + [torch.randint(0, len(tok), (40,), generator=gen).tolist() for _ in range(5)]
    for ids in runs:
        d = Detokenizer(tok)
        pieces = [d.add(i) for i in ids] + [d.flush()]
        assert "".join(pieces) == tok.decode(ids, skip_special_tokens=True)


def test_greedy_rows_take_the_argmax_and_sampled_rows_follow_their_seed() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]] * 3)
    greedy = SamplingParams()
    hot = SamplingParams(temperature=1.0, top_k=2)
    for seed in range(20):
        tokens, logprobs = sample(logits, [greedy, hot, hot], [0, seed, seed], step=3)
        assert tokens[0] == 1
        assert tokens[1] == tokens[2] and tokens[1] in (1, 3)  # top_k=2 keeps only the two best
        assert abs(logprobs[0] - torch.log_softmax(logits[0], -1)[1].item()) < 1e-6
        assert sample(logits[:1], [hot], [seed], step=3)[0] == tokens[1:2]  # the same draw alone as in a batch


def test_sampled_tokens_follow_the_softmax_and_differ_by_seed_and_step() -> None:
    """The counter-based noise must draw from the tempered distribution, not merely be deterministic."""
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    p = SamplingParams(temperature=1.0)
    n = 4000
    draws = [sample(logits, [p], [seed], step=seed % 7)[0][0] for seed in range(n)]
    freq = torch.bincount(torch.tensor(draws), minlength=4).float() / n
    assert torch.allclose(freq, torch.tensor([0.5, 0.3, 0.15, 0.05]), atol=0.03), freq
    cold = SamplingParams(temperature=0.25)  # sharper: probabilities to the 4th power, 0.88 for the best
    assert abs(sum(sample(logits, [cold], [s])[0][0] == 0 for s in range(1000)) / 1000 - 0.879) < 0.04
    assert len({sample(logits, [p], [7], step=k)[0][0] for k in range(40)}) > 1


def test_top_p_keeps_the_smallest_nucleus() -> None:
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
    p = SamplingParams(temperature=1.0, top_p=0.5)
    seen = {sample(logits, [p], [s])[0][0] for s in range(50)}
    assert seen == {0}


def test_vanishing_temperature_and_top_p_are_greedy_not_nan() -> None:
    """Found by the API fuzz: 5e-324 used to overflow the logits into NaN probabilities (a 500)."""
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    for p in (SamplingParams(temperature=5e-324), SamplingParams(temperature=1.0, top_p=5e-324)):
        tokens, _ = sample(logits, [p], [0])
        assert tokens == [1]


def test_prefix_store_finds_the_longest_shared_prefix_and_stays_within_its_bytes() -> None:
    store = PrefixStore(max_bytes=512 * 4, bytes_per_token=4)  # room for 512 positions: 4 entries of 128

    def kv(length: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        cap = store.capacity_for(length)
        return [(torch.zeros(1, cap, 1), torch.zeros(1, cap, 1))]

    store.add(list(range(40)), kv(40))
    store.add([*range(30), 99, 98], kv(32))
    assert store.lookup([*range(35), 7])[1] == 35
    assert store.lookup([*range(30), 99, 5])[1] == 31
    assert store.lookup([5, 6]) == (None, 0)
    store.add(list(range(50)), kv(50))  # extends the first entry, which it replaces
    assert len(store) == 2 and store.used == 2 * 128 * 4
    for fill in (7, 8, 9):  # the least recently used go first to make room
        store.add([fill] * 60, kv(60))
    assert store.used <= 512 * 4 and store.lookup([9] * 60)[1] == 60
    assert store.lookup([*range(30), 99, 98])[1] < 32  # the oldest entry was evicted
    assert not store.fits(600)  # larger than the whole store: never kept

    key, shared = store.lookup([9] * 70)  # a prompt that extends an entry takes its buffers over
    assert shared == 60 and store.capacity(key) == 128
    used = store.used
    buffers = store.take(key)
    assert store.used == used - 128 * 4 and store.lookup([9] * 70) == (None, 0)
    store.add([9] * 70, buffers)
    assert store.lookup([9] * 70)[1] == 70


def test_a_cache_that_fits_its_use_gives_back_slots_while_it_grows_longer() -> None:
    """After a burst of rows, one long prompt grows the slots still in use, not every slot (on a
    7B model on a GPU: 69 GiB for 36 slots of 4,096 positions); what the slots held is kept."""
    config = types.SimpleNamespace(num_key_value_heads=2, num_attention_heads=4, hidden_size=32, num_hidden_layers=2)
    kept = SlotCache(config, 8, torch.float32, "cpu", max_capacity=8192, max_slots=36)
    fitted = SlotCache(config, 8, torch.float32, "cpu", max_capacity=8192, max_slots=36, fit=True)
    for cache in (kept, fitted):
        cache.reserve(200, 36)  # 32 streams
        for layer in cache.keys:
            layer[:6, :, :200] = torch.arange(6 * 200, dtype=torch.float32).reshape(6, 1, 200, 1)
        cache.reserve(3600, 6)  # then one long prompt beside a row still running
        assert cache.capacity == 4096
        assert all(torch.equal(k[:6, 0, :200, 0], torch.arange(6 * 200, dtype=torch.float32).reshape(6, 200)) for k in cache.keys)
    assert (kept.slots, fitted.slots) == (36, 8)
    assert fitted.keys[0].shape == (8, 2, 4096, 8)
    fitted.reserve(100, 4)  # it fits: no copy just to shrink
    assert (fitted.slots, fitted.capacity) == (8, 4096)


def test_a_reader_that_does_not_read_holds_one_merged_event_per_sample() -> None:
    async def scenario() -> tuple[int, list[Event]]:
        req = Request([1, 2], SamplingParams(samples=2), asyncio.get_running_loop())
        for i in range(1000):  # the engine thread keeps delivering; nobody reads
            deliver([(req, [Event(0, "a"), Event(1, "b", "length" if i == 999 else None)])])
        deliver([(req, [Event(0, "!", "stop")])])
        await asyncio.sleep(0)  # let the loop run the deliveries
        held = req.held
        return held, [ev async for ev in req.events()]

    held, events = asyncio.run(scenario())
    assert held == 2
    texts = {ev.index: ev.text for ev in events}
    assert texts == {0: "a" * 1000 + "!", 1: "b" * 1000}
    assert {ev.index: ev.finish_reason for ev in events} == {0: "stop", 1: "length"}
