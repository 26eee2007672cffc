"""A submitted generation as its submitter sees it: status, events, and the hand-over between threads.

The engine thread produces events; the asyncio event loop that submitted the request consumes
them. They meet here and nowhere else: the engine calls `deliver` (one wake-up per event loop
per step, because each `call_soon_threadsafe` wakes that loop's thread, which then competes for
the GIL with the engine) and `Request.fail`; the reader iterates `Request.events()`.

A request's state is one field, `status` (a `RequestStatus`), written by the engine thread
only; which of the scheduler's collections holds it follows from that, not the other way round.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mathcore.sampling import SamplingParams

__all__ = ["Event", "Request", "RequestStatus", "deliver"]


class RequestStatus(enum.Enum):
    """Where a request is in its life; the last three are final."""

    WAITING = "waiting"  # queued for a staging slot and room in the batch
    PREFILLING = "prefilling"  # its prompt is being computed, piece by piece, in a staging slot
    RUNNING = "running"  # its samples are rows of the running batch
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Admitted and not yet done: what `/metrics` counts as running."""
        return self in (RequestStatus.PREFILLING, RequestStatus.RUNNING)

    @property
    def final(self) -> bool:
        return self in (RequestStatus.FINISHED, RequestStatus.CANCELLED, RequestStatus.FAILED)


@dataclass(frozen=True)
class Event:
    """Progress of one sample (`index`): new text, and a finish reason once it is complete."""

    index: int
    text: str
    finish_reason: str | None = None
    tokens: int = 0
    logprob: float = 0.0
    token_ids: tuple[int, ...] = ()
    token_logprobs: tuple[float, ...] = ()


class Request:
    """A submitted generation; iterate `events()` on `event_loop`, the loop that submitted it.

    The send buffer is bounded: events that a slow reader has not taken yet are merged per
    sample (their texts joined), so a client that stops reading holds at most one pending event
    per sample however long the batch runs on, and never holds the batch back.
    """

    def __init__(self, prompt_ids: list[int], params: SamplingParams, event_loop: asyncio.AbstractEventLoop,
                 ignore_eos: bool = False) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.prompt_ids = prompt_ids
        self.params = params
        self.ignore_eos = ignore_eos
        self.created = time.monotonic()
        self.status = RequestStatus.WAITING
        self.cancelled = threading.Event()  # set from any thread; the engine acts on it between steps
        self.error: str | None = None
        self.event_loop = event_loop
        self._unread: dict[int, Event] = {}
        self._ready = asyncio.Event()
        self._open = params.samples

    @property
    def held(self) -> int:
        """Events delivered but not read yet (at most one per sample)."""
        return len(self._unread)

    def fail(self, message: str) -> None:
        """Called from the engine thread; the reader sees what came before, then the error."""
        self.event_loop.call_soon_threadsafe(self._fail, message)

    def _fail(self, message: str) -> None:
        self.error = message
        self._ready.set()

    def push(self, events: list[Event]) -> None:
        """Take events on `event_loop` (see `deliver`), merged per sample with those not read yet."""
        for ev in events:
            old = self._unread.get(ev.index)
            self._unread[ev.index] = ev if old is None else dataclasses.replace(ev, text=old.text + ev.text)
        self._ready.set()

    async def events(self) -> AsyncIterator[Event]:
        """Events until every sample has finished; raises RuntimeError if the engine failed."""
        while self._open > 0:
            await self._ready.wait()
            self._ready.clear()
            batch, self._unread = list(self._unread.values()), {}
            for ev in batch:
                if ev.finish_reason is not None:
                    self._open -= 1
                yield ev
            if self.error is not None and not self._unread:
                raise RuntimeError(self.error)


def deliver(batch: list[tuple[Request, list[Event]]]) -> None:
    """Hand each request its events (from the engine thread) with one wake-up per event loop, not one per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Request, list[Event]]]] = {}
    for req, events in batch:
        by_loop.setdefault(req.event_loop, []).append((req, events))
    for loop, items in by_loop.items():
        loop.call_soon_threadsafe(_push_all, items)


def _push_all(items: list[tuple[Request, list[Event]]]) -> None:
    for req, events in items:
        req.push(events)
