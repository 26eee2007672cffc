"""The mathassist IPython extension: `%load_ext ipython_ext`, then `%%solve` in a cell."""

from __future__ import annotations

from typing import Any

from ipython_ext.magics import SolveError, SolveMagics

__all__ = ["SolveError", "SolveMagics", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register %%solve, %solve_config and %solve_status."""
    ipython.register_magics(SolveMagics)
