"""The `mathassist` command (the terminal front end and the entry point editors launch), and
`%load_ext mathassist`, which loads the IPython extension under the product's own name."""

from __future__ import annotations

from typing import Any

from model_server import __version__

__all__ = ["__version__", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext mathassist`: the same as `%load_ext ipython_ext` (IPython is imported only here)."""
    from ipython_ext import load_ipython_extension as load

    load(ipython)
