"""The shared model process: loading, the batching engine, the HTTP API, and its client.

Only the engine's modules (`loading`, `engine` and the parts it is made of) touch torch and
transformers, and only inside functions, so that
`model_server.client` stays cheap to import for the front ends. The version is the installed
distribution's (pyproject.toml is its one source).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mathassist")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
