"""What every front end shares above the client: solving, suggesting, the connection, the settings.

    front ends (lsp_server, ipython_ext, jupyter_ext, mathassist CLI)
        -> assist (this package)
            -> model_server.client, mathcore, checker, sandbox

- `assist.solve`: a whole solution (`mathassist solve`, `%%solve`): prompt, stream, tool loop
  (programs run in `sandbox`), live checks, votes;
- `assist.suggest`: the next step at a cursor, proof steps and verified fixes (the language server
  and the JupyterLab extension), typed along without asking again (`assist.following`);
- `assist.connection`: a front end's lazily opened, self-healing connection to the model;
- `assist.settings`: the editor settings, validated once.
"""

from __future__ import annotations

from assist.connection import Connection, ConnectionListener, ConnectionState
from assist.settings import Settings, parse_settings
from assist.solve import solve
from assist.suggest import Candidate, Cursor, Suggester

__all__ = [
    "Candidate",
    "Connection",
    "ConnectionListener",
    "ConnectionState",
    "Cursor",
    "Settings",
    "Suggester",
    "parse_settings",
    "solve",
]
