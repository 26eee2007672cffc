"""The scheduler alone (no model): admission by room in the batch, statuses, and rows leaving.

A real `SlotCache` of a toy shape stands in for the model's; the steps' logits are never
computed, since the scheduler does not read them.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Iterator

import pytest
import torch

from mathcore.sampling import SamplingParams
from model_server.batch import StepResult
from model_server.kvcache import SlotCache
from model_server.metrics import Metrics
from model_server.requests import Request, RequestStatus
from model_server.scheduler import STAGING, Scheduler

WAITING, PREFILLING, RUNNING = RequestStatus.WAITING, RequestStatus.PREFILLING, RequestStatus.RUNNING


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def scheduler(max_batch: int = 4, speculative_tokens: int = 0) -> Scheduler:
    config = types.SimpleNamespace(num_key_value_heads=1, num_attention_heads=1, hidden_size=4, num_hidden_layers=1)
    sched = Scheduler(Metrics(), tokenizer=None, device="cpu", max_batch=max_batch, max_queue=8, prefix_bytes=0,
                      speculative_tokens=speculative_tokens)
    sched.attach(SlotCache(config, STAGING + max_batch, torch.float32, "cpu", max_capacity=64))
    return sched


def test_requests_are_admitted_while_the_batch_has_room_for_all_their_samples(loop: asyncio.AbstractEventLoop) -> None:
    sched = scheduler(max_batch=4)
    reqs = [Request([1, 2, 3], SamplingParams(max_new_tokens=4, samples=s), loop) for s in (2, 1, 2)]
    for r in reqs:
        sched.add(r)
    step = sched.schedule()
    assert step is not None
    assert [r.status for r in reqs] == [PREFILLING, PREFILLING, WAITING]  # 2 + 1 fit in 4, 2 more would not
    assert [(p.slot, p.start, p.tokens, p.last) for p in step.prompts] == [(0, 0, [1, 2, 3], True), (1, 0, [1, 2, 3], True)]
    assert sched.stats() == {"running": 2, "queued": 1, "rows": 0}

    sampled = sched.after_run(StepResult(torch.zeros(2, 5), 0.01), step)
    # both prompts finished: one sequence per sample, each with its prompt's logits row
    assert [(w.seq.req, w.seq.index, w.row, w.drafts) for w in sampled] == [(reqs[0], 0, 0, ()), (reqs[0], 1, 0, ()), (reqs[1], 0, 1, ())]
    assert [w.seq.position for w in sampled] == [3, 3, 3]
    assert [r.status for r in reqs] == [RUNNING, RUNNING, WAITING]
    assert sched.stats() == {"running": 2, "queued": 1, "rows": 3}
    step = sched.schedule()
    assert step is not None and not step.prompts  # 3 rows + 2 samples > 4: the third still waits
    assert [(r.slot, r.tokens, r.position) for r in step.rows] == [(STAGING + i, (0,), 3) for i in range(3)]


def test_a_row_that_leaves_is_replaced_by_the_last_and_its_request_finishes_with_its_last_row(loop: asyncio.AbstractEventLoop) -> None:
    sched = scheduler(max_batch=4)
    two, one = Request([1, 2, 3], SamplingParams(samples=2), loop), Request([4, 5, 6], SamplingParams(), loop)
    sched.add(two)
    sched.add(one)
    step = sched.schedule()
    assert step is not None
    seqs = [w.seq for w in sched.after_run(StepResult(torch.zeros(2, 5), 0.01), step)]
    assert sched.cache is not None
    sched.cache.keys[0][STAGING + 2, :, :3] = 7.0  # the last row's cache
    sched.retire([seqs[0]])
    assert sched.sequences == [seqs[2], seqs[1]]  # the last row took the gap...
    assert torch.all(sched.cache.keys[0][STAGING, :, :3] == 7.0)  # ...and its cache moved with it
    assert two.status is RUNNING and sched.metrics.finished == 0  # one of its samples still runs
    sched.retire([seqs[1]])
    assert two.status is RequestStatus.FINISHED and sched.metrics.finished == 1
    assert sched.stats() == {"running": 1, "queued": 0, "rows": 1}


def test_cancelled_requests_leave_the_queue_and_the_batch_as_cancelled(loop: asyncio.AbstractEventLoop) -> None:
    sched = scheduler(max_batch=4)
    running, queued = Request([1, 2, 3], SamplingParams(), loop), Request([4, 5, 6], SamplingParams(samples=4), loop)
    sched.add(running)
    sched.add(queued)
    step = sched.schedule()
    assert step is not None
    sched.after_run(StepResult(torch.zeros(1, 5), 0.01), step)
    running.cancelled.set()
    queued.cancelled.set()
    assert sched.schedule() is None  # the row leaves; the queued request was admitted before it did, so it still waits
    assert (running.status, queued.status) == (RequestStatus.CANCELLED, WAITING)
    assert sched.wait_for_work() and sched.schedule() is None  # the next step finds it cancelled
    assert queued.status is RequestStatus.CANCELLED
    assert sched.metrics.cancelled == 2 and sched.stats() == {"running": 0, "queued": 0, "rows": 0}


def test_rows_feed_drafts_from_their_own_text_while_the_batch_is_small(loop: asyncio.AbstractEventLoop) -> None:
    """Each row's drafts are what followed its last tokens earlier on, never more than it may still
    generate after the token it is sure to get; above `speculate_rows` rows, none."""
    sched = scheduler(max_batch=4, speculative_tokens=4)
    prompt = [5, 6, 7, 8, 5, 6]
    long, short = Request(prompt, SamplingParams(max_new_tokens=20), loop), Request(prompt, SamplingParams(max_new_tokens=3), loop)
    sched.add(long)
    sched.add(short)
    step = sched.schedule()
    assert step is not None
    seqs = [w.seq for w in sched.after_run(StepResult(torch.zeros(2, 5), 0.01), step)]
    for seq in seqs:  # as the output step does: the first token is taken
        seq.ids.append(7)
        seq.last = 7
    step = sched.schedule()
    assert step is not None
    assert [r.tokens for r in step.rows] == [(7, 8, 5, 6, 7), (7, 8)]  # after 5 6 7 came 8 5 6 7; the short one may add 1 more
    sched.speculate_rows = 1
    step = sched.schedule()
    assert step is not None and [r.tokens for r in step.rows] == [(7,), (7,)]
