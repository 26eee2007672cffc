"""Speculation's pure parts (no model): drafts from the text at hand, and how the output step checks them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mathcore.sampling import SamplingParams
from model_server.batch import Sequence, ToSample
from model_server.drafter import PromptLookup
from model_server.metrics import Metrics
from model_server.output import OutputStep
from model_server.requests import Request
from model_server.textstream import Detokenizer, StopText


def latest_match(history: list[int], k: int, max_n: int = 3) -> list[int]:
    """What prompt lookup must propose, the slow way: for the longest suffix (max_n down to 1) found
    earlier, the k tokens after its latest earlier occurrence."""
    for n in range(min(max_n, len(history) - 1), 0, -1):
        suffix = history[len(history) - n :]
        for end in range(len(history) - 2, n - 2, -1):
            if history[end - n + 1 : end + 1] == suffix:
                return history[end + 1 : end + 1 + k]
    return []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=30), st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=1, max_size=4),
                                                                     st.integers(0, 6)), max_size=25))
def test_prompt_lookup_proposes_what_followed_the_latest_occurrence_of_the_longest_suffix(
        prompt: list[int], steps: list[tuple[list[int], int]]) -> None:
    """Whatever arrives, several tokens at a time, the incremental index agrees with a search of the whole text."""
    output: list[int] = []
    lookup = PromptLookup(prompt, output)
    for new, k in steps:
        assert lookup.propose(k) == (latest_match(prompt + output, k) if k else [])
        output.extend(new)


def test_a_derivation_row_is_drafted_from_the_row_above() -> None:
    above = [10, 11, 12, 13, 14, 15, 16]  # x^2 + 5x + 3x + 15, as ids
    lookup = PromptLookup([*above, 99, 10, 11], [])  # the next row has begun like the one above
    assert lookup.propose(4) == [12, 13, 14, 15]


@pytest.fixture(scope="module")
def tokenizer() -> object:
    from transformers import AutoTokenizer

    from model_server.loading import EMBEDDED_DIR

    return AutoTokenizer.from_pretrained(EMBEDDED_DIR)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def logits_for(tokens: list[int], vocab: int) -> torch.Tensor:
    """Rows whose argmax is each of `tokens`."""
    out = torch.zeros(len(tokens), vocab)
    out[torch.arange(len(tokens)), torch.tensor(tokens)] = 5.0
    return out


def sequence(tokenizer: object, loop: asyncio.AbstractEventLoop, params: SamplingParams, position: int) -> Sequence:
    req = Request([1, 2, 3], params, loop)
    return Sequence(req, 0, 0, Detokenizer(tokenizer), StopText(params.stop), position=position)


def test_drafts_are_taken_while_the_model_agrees_and_the_slot_moves_back_over_the_rest(
        tokenizer: object, loop: asyncio.AbstractEventLoop) -> None:
    ids = tokenizer("x^2 + 8x + 15", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert len(ids) >= 5
    metrics = Metrics()
    out = OutputStep(eos_id=1, metrics=metrics)
    # the step fed the last token and 4 drafts (positions 10..14), so the scheduler moved the row to 15
    seq = sequence(tokenizer, loop, SamplingParams(max_new_tokens=40), position=15)
    drafts = (ids[0], ids[1], 7, ids[3])  # the third draft is wrong
    finished, events = out.process([ToSample(seq, 0, drafts)], logits_for(ids[:5], 733))
    assert seq.ids == ids[:3]  # two drafts confirmed, then the model's own token where the third was wrong
    assert seq.position == 13  # 10 + the last token + 2 confirmed drafts: the rejected two are written over next
    assert seq.last == ids[2] and not finished
    [(_, [event])] = events
    assert event.text == tokenizer.decode(ids[:3])  # type: ignore[attr-defined]
    assert (metrics.draft_tokens, metrics.accepted_tokens, metrics.generated_tokens) == (4, 2, 3)


def test_a_stop_string_inside_confirmed_drafts_ends_the_sequence_there(tokenizer: object, loop: asyncio.AbstractEventLoop) -> None:
    ids = tokenizer("x + 1 \\\\ y = 2", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    out = OutputStep(eos_id=1, metrics=Metrics())
    seq = sequence(tokenizer, loop, SamplingParams(max_new_tokens=40, stop=["\\\\"]), position=len(ids))
    drafts = tuple(ids[:-1])  # every draft right: the model would go on past the stop
    finished, events = out.process([ToSample(seq, 0, drafts)], logits_for(ids, 733))
    assert finished == [seq] and seq.finish == "stop"
    [(_, [event])] = events
    assert event.text == "x + 1 " and event.finish_reason == "stop"


def test_no_more_tokens_are_taken_than_max_new_tokens_allows(tokenizer: object, loop: asyncio.AbstractEventLoop) -> None:
    ids = tokenizer("abcdefgh", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    out = OutputStep(eos_id=1, metrics=Metrics())
    seq = sequence(tokenizer, loop, SamplingParams(max_new_tokens=2), position=5)
    finished, _ = out.process([ToSample(seq, 0, (ids[0], ids[1]))], logits_for(ids[:3], 733))
    assert finished == [seq] and seq.finish == "length" and seq.ids == ids[:2]
