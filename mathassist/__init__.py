"""The `mathassist` command: the terminal front end and the entry point editors launch."""

from __future__ import annotations

from model_server import __version__

__all__ = ["__version__"]
