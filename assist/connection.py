"""A front end's way to the model: connect lazily, report the state, warn once, retry.

The first request (or a warm-up at start) opens the connection: find or spawn the shared process
(or use the server URL the user set), then wait for its model to load. Every change of state goes
to the front end's listener (a status bar, work-done progress in an editor), and so does a
failure, once, with what to do next. Later requests try again (at most every few seconds) and the
front end keeps working. A process that goes away mid-request (killed, out of memory) is reported
once (`lost`), and the next request finds or starts a new one: no restart of the editor or the
notebook server. What the server lacks and the client works around (samples one at a time where
it ignores `n`) goes to the listener's `note`, once. The language server and the Jupyter server
extension each hold one.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from typing import Protocol

from model_server.client import AsyncClient, ClientError

__all__ = ["RETRY_AFTER_S", "Connection", "ConnectionListener", "ConnectionState"]

log = logging.getLogger(__name__)
RETRY_AFTER_S = 3.0


class ConnectionState(enum.StrEnum):
    """Where the connection is; the values are what status bars receive."""

    IDLE = "idle"
    STARTING = "starting"
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


class ConnectionListener(Protocol):
    """What a front end does with the connection's news; called on the event loop."""

    def state_changed(self, state: ConnectionState, detail: str) -> None:
        """The state changed (a status bar shows it; STARTING and LOADING are progress)."""

    def unreachable(self, message: str, first: bool) -> None:
        """The model cannot be reached; `first` when the user has not been told since it last worked."""

    def note(self, message: str) -> None:
        """The server lacks something and the client works around it (once per connection)."""


class Connection:
    """Holds a front end's one `AsyncClient`."""

    def __init__(self, listener: ConnectionListener, server_url: Callable[[], str] = lambda: "") -> None:
        self.listener = listener
        self.server_url = server_url
        self.state = ConnectionState.IDLE
        self.detail = ""
        self._client: AsyncClient | None = None
        self._connecting: asyncio.Task[AsyncClient] | None = None
        self._last_failure = 0.0
        self._warned = False
        self._closing: set[asyncio.Task[None]] = set()

    async def client(self) -> AsyncClient:
        """The connected client; raises ClientError (already reported to the user) when unreachable."""
        if self._client is not None:
            return self._client
        attempt = self._connecting
        failed_long_ago = (
            attempt is not None and attempt.done() and (attempt.cancelled() or attempt.exception() is not None)
            and time.monotonic() - self._last_failure >= RETRY_AFTER_S
        )
        if attempt is None or failed_long_ago:
            attempt = self._connecting = asyncio.ensure_future(self._connect())
        # shield: a cancelled request must not abort the shared connection attempt
        return await asyncio.shield(attempt)

    def lost(self, exc: ClientError) -> None:
        """The model process went away during a request: say so once, reconnect on the next request."""
        self.reset()
        self._set_state(ConnectionState.ERROR, str(exc).splitlines()[0])
        self._warned = False  # this is news: show it even if an earlier failure was shown
        self._warn(str(exc))

    def reset(self) -> None:
        """Forget the connection (the server URL changed, or the process went away)."""
        old, self._client, self._connecting = self._client, None, None
        if old is not None:
            task = asyncio.ensure_future(old.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._set_state(ConnectionState.IDLE, "")

    async def _connect(self) -> AsyncClient:
        loop = asyncio.get_running_loop()
        shown: list[str] = []

        def on_wait(message: str) -> None:  # from a worker thread, on every poll: report only what changed
            if shown != [message]:
                shown[:] = [message]
                state = ConnectionState.STARTING if message.startswith("starting") else ConnectionState.LOADING
                loop.call_soon_threadsafe(self._set_state, state, message)

        self._set_state(ConnectionState.STARTING, "starting the model process")
        try:
            client = await AsyncClient.connect(on_wait=on_wait, url=self.server_url() or None)
            client.on_note = self.listener.note
            self._client = client
            self._set_state(ConnectionState.READY, f"{client.endpoint.model or await client.model()} at {client.endpoint.url}")
            self._warned = False
            log.info("connected to the model process at %s", client.endpoint.url)
            return client
        except ClientError as exc:
            self._last_failure = time.monotonic()
            self._set_state(ConnectionState.ERROR, str(exc).splitlines()[0])
            self._warn(str(exc))
            raise

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        self.listener.state_changed(state, detail)

    def _warn(self, message: str) -> None:
        log.warning("model process unavailable: %s", message)
        self.listener.unreachable(message, first=not self._warned)
        self._warned = True
