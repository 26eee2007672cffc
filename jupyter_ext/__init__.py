"""mathassist in JupyterLab: the Jupyter server extension behind the `mathassist-jupyterlab` labextension.

    browser (jupyterlab-ext/: inline completion provider, marks, status bar, settings)
        -> this server extension (authenticated handlers on the Jupyter server's origin)
            -> assist (suggestions, connection, settings) -> model_server.client -> the shared model process
            -> checker (wrong steps, in its time-bounded workers)

`pip install mathassist` puts the prebuilt labextension into `share/jupyter/labextensions/` and
enables this server extension through `etc/jupyter/jupyter_server_config.d/mathassist.json`; no
Node is needed to use it. The modules: `cells` (a notebook as a document, requests parsed once),
`assistant` (the state), `handlers` (the endpoints), `errors` (the exception).
"""

from __future__ import annotations

from typing import Any

from jupyter_ext.assistant import NotebookAssistant
from jupyter_ext.errors import BadInput

__all__ = ["LABEXTENSION", "BadInput", "NotebookAssistant"]

LABEXTENSION = "mathassist-jupyterlab"
_SETTINGS_KEY = "mathassist"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_ext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the endpoints; the model process is started when a browser first sends its settings."""
    from jupyter_ext.handlers import setup_handlers  # jupyter_server is imported only inside a Jupyter server

    assistant = NotebookAssistant()
    serverapp.web_app.settings[_SETTINGS_KEY] = assistant
    setup_handlers(serverapp.web_app, assistant)
    serverapp.log.info("mathassist: ghost text and checked steps for notebooks at %smathassist/", serverapp.base_url)

