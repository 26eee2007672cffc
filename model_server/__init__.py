"""The shared model process: loading, the batching engine, the HTTP API, and its client.

Only `loading` and `engine` touch torch and transformers, and only inside functions, so that
`model_server.client` stays cheap to import for the front ends.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
