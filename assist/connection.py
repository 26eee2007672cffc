"""The language server's way to the model: connect lazily, show progress, warn once, retry.

The first request (or `initialized`) starts the connection: find or spawn the shared process
(or use the `serverUrl` setting), then wait for its model to load, with work-done progress in
the editor meanwhile. If it cannot be reached, the user gets one `window/showMessage` that says
what to do; later requests try again (at most every few seconds) and the server keeps serving.
A process that goes away mid-request (killed, out of memory) is reported once (`lost`), and the
next request finds or starts a new one: no restart of the editor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

from model_server.client import AsyncClient, ClientError, Endpoint, external_endpoint, find_endpoint, wait_ready

if TYPE_CHECKING:
    from lsp_server.core import MathServer

__all__ = ["ModelGateway"]

log = logging.getLogger(__name__)
RETRY_AFTER_S = 3.0


class ModelGateway:
    """Holds the one `AsyncClient` of this language server."""

    def __init__(self, server: MathServer) -> None:
        self.server = server
        self._client: AsyncClient | None = None
        self._connecting: asyncio.Task[AsyncClient] | None = None
        self._last_failure = 0.0
        self._warned = False
        self.state = "idle"
        self.detail = ""

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
        # shield: a cancelled completion must not abort the shared connection attempt
        return await asyncio.shield(attempt)

    def lost(self, exc: ClientError) -> None:
        """The model process went away during a request: say so once, reconnect on the next request."""
        self.reset()
        self._set_state("error", str(exc).splitlines()[0])
        self._warned = False  # this is news: show it even if an earlier failure was shown
        self._warn(str(exc))

    def reset(self) -> None:
        """Forget the connection (the serverUrl setting changed, or the process went away)."""
        old, self._client, self._connecting = self._client, None, None
        if old is not None:
            self.server.run_in_background(old.aclose())
        self._set_state("idle", "")

    async def _connect(self) -> AsyncClient:
        token = f"mathassist-{uuid.uuid4().hex[:8]}"
        progress = await self._begin_progress(token)
        try:
            self._set_state("starting", "starting the model process")
            endpoint = await asyncio.to_thread(self._endpoint)
            self._set_state("loading", f"loading {endpoint.model or 'the model'}")
            loop = asyncio.get_running_loop()

            shown: list[str] = []

            def on_wait(message: str) -> None:  # called on every poll: report only what changed
                if shown != [message]:
                    shown[:] = [message]
                    loop.call_soon_threadsafe(self._set_state, "loading", message)
                    if progress:
                        loop.call_soon_threadsafe(self._report, token, message)

            await asyncio.to_thread(wait_ready, endpoint, 600.0, on_wait)
            self._client = AsyncClient(endpoint)
            self._set_state("ready", f"{endpoint.model or await self._client.model()} at {endpoint.url}")
            self._warned = False
            log.info("connected to the model process at %s", endpoint.url)
            return self._client
        except ClientError as exc:
            self._last_failure = time.monotonic()
            self._set_state("error", str(exc).splitlines()[0])
            self._warn(str(exc))
            raise
        finally:
            if progress:
                self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=self.state))

    def _set_state(self, state: str, detail: str) -> None:
        """Record the connection state and tell the client (`mathassist/status`, for status bars)."""
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        self.server.protocol.notify("mathassist/status", {"state": state, "message": detail})

    def _endpoint(self) -> Endpoint:
        url = self.server.settings.server_url
        if url:
            return external_endpoint(url, os.environ.get("MATHASSIST_API_KEY"))
        return find_endpoint(spawn=True)

    async def _begin_progress(self, token: str) -> bool:
        caps = self.server.client_capabilities
        if not (caps and caps.window and caps.window.work_done_progress):
            return False
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception:  # the client may refuse progress; completions still work without it
            return False
        self.server.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="mathassist", message="starting the model process", cancellable=False)
        )
        return True

    def _report(self, token: str, message: str) -> None:
        self.server.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

    def _warn(self, message: str) -> None:
        log.warning("model process unavailable: %s", message)
        self.server.window_log_message(types.LogMessageParams(types.MessageType.Warning, message))
        if not self._warned:
            self._warned = True
            self.server.window_show_message(types.ShowMessageParams(
                types.MessageType.Error,
                f"mathassist: {message.rstrip('.')}. It will retry on the next request; "
                "check `mathassist status` in a terminal or the mathassist.serverUrl setting.",
            ))
