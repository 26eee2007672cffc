"""The server extension's HTTP endpoints, under the Jupyter server's own origin and authentication.

    POST /mathassist/suggest    {notebook, cells, offset, explicit} -> {"suggestion": str | null}
    POST /mathassist/check      {source}                            -> {"marks": [{from, to, line, message, step, counterexample}]}
    PUT  /mathassist/settings   the settings (VS Code's shape, plus enabled) -> {"errors": [...]}
    GET  /mathassist/status                                         -> {enabled, state, message, notice}

Every handler is an `APIHandler` behind `tornado.web.authenticated`: the browser proves itself to
the Jupyter server as for any of its APIs, and the model process's token never leaves this side.
Bad input answers 400 or 413 with `{"error": {"message", "type"}}` (the model API's shape) and
never reaches the model. A browser that aborts a suggestion request closes its connection;
`on_connection_close` cancels the task, and with it the generation in the model process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from jupyter_ext.assistant import NotebookAssistant
from jupyter_ext.cells import MAX_CHARS, parse_cell, parse_suggest
from jupyter_ext.errors import BadInput

__all__ = ["ROUTE", "setup_handlers"]

log = logging.getLogger(__name__)
ROUTE = "mathassist"


class _Handler(APIHandler):
    """Shared: the assistant, the JSON body, errors as JSON, and cancellation when the browser leaves."""

    def initialize(self, assistant: NotebookAssistant) -> None:
        self.assistant = assistant
        self._work: asyncio.Task[Any] | None = None

    def body(self) -> Any:
        if len(self.request.body) > 4 * MAX_CHARS + 65536:  # UTF-8 and JSON escapes of MAX_CHARS characters
            raise BadInput(f"the request body has {len(self.request.body):,} bytes; mathassist reads at most {MAX_CHARS:,} characters",
                           status=413)
        try:
            return json.loads(self.request.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"the request body must be JSON in UTF-8 ({exc})") from None

    def refuse(self, exc: BadInput) -> None:
        log.info("mathassist: refused a request to %s: %s", self.request.path, exc)
        self.set_status(exc.status)
        self.finish({"error": {"message": str(exc), "type": "invalid_request_error"}})

    async def run(self, work: Any) -> Any:
        """Await `work` as a task that the browser's hanging up cancels."""
        self._work = asyncio.ensure_future(work)
        return await self._work

    def on_connection_close(self) -> None:
        if self._work is not None and not self._work.done():
            self._work.cancel()


class SuggestHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            request = parse_suggest(self.body())
        except BadInput as exc:
            return self.refuse(exc)
        try:
            suggestion = await self.run(self.assistant.suggest(request))
        except asyncio.CancelledError:
            return None  # the browser aborted it (typed on, or closed the notebook): nobody to answer
        self.finish({"suggestion": suggestion})


class CheckHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = self.body()
            cell = parse_cell({"cell_type": "markdown", "source": body.get("source") if isinstance(body, dict) else None}, "source")
            if len(cell.source) > MAX_CHARS:
                raise BadInput(f"the cell has {len(cell.source):,} characters; mathassist checks at most {MAX_CHARS:,}", status=413)
        except BadInput as exc:
            return self.refuse(exc)
        try:
            marks = await self.run(self.assistant.check(cell.source))
        except asyncio.CancelledError:
            return None
        self.finish({"marks": [m.to_json() for m in marks]})


class SettingsHandler(_Handler):
    @tornado.web.authenticated
    def put(self) -> None:
        try:
            raw = self.body()
        except BadInput as exc:
            return self.refuse(exc)
        errors = self.assistant.apply_settings(raw)
        self.assistant.warm_up()
        self.finish({"errors": errors})


class StatusHandler(_Handler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(self.assistant.status())


def setup_handlers(web_app: Any, assistant: NotebookAssistant) -> None:
    """Add the endpoints to the Jupyter server's web application."""
    base = url_path_join(web_app.settings["base_url"], ROUTE)
    routes = {"suggest": SuggestHandler, "check": CheckHandler, "settings": SettingsHandler, "status": StatusHandler}
    web_app.add_handlers(".*$", [(url_path_join(base, name), handler, {"assistant": assistant}) for name, handler in routes.items()])
