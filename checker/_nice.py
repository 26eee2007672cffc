"""Imported first by the checker's fork server: it and every worker forked from it run at a lower
CPU priority, so checking in the background never slows completions or the model process."""

from __future__ import annotations

import contextlib
import os

with contextlib.suppress(OSError, AttributeError):  # Windows has no nice; a sandboxed OS may refuse
    os.nice(10)
