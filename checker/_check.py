"""The shared `Checker` of a process, and the functions that use it.

Scripts and callers without a natural owner (a notebook's `%%solve`, `mathcore.voting` through
`answers_equal`) share one `Checker`, made on first use under a lock and closed at exit; callers
that own a lifetime (the language server, `mathassist check`) make their own.
"""

from __future__ import annotations

import atexit
import threading

from checker._checker import Checker
from checker._types import Result
from mathcore.steps import Claim

__all__ = ["answers_equal", "check_claims", "check_document", "check_suggestion", "check_suggestions", "shared", "shutdown", "start"]

_shared: Checker | None = None
_lock = threading.Lock()


def shared() -> Checker:
    """The process's shared `Checker` (default configuration), made on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Checker()
            atexit.register(shutdown)
        return _shared


def start() -> None:
    """Start the shared checker's workers now rather than at the first step."""
    shared().start()


def shutdown() -> None:
    """Stop the shared checker's workers (a later call makes them again)."""
    global _shared
    with _lock:
        checker, _shared = _shared, None
    if checker is not None:
        checker.close()


def check_claims(claims: list[Claim], timeout: float | None = None) -> list[Result]:
    """`Checker.check_claims` on the shared checker."""
    return shared().check_claims(claims, timeout)


def check_document(text: str, language: str, timeout: float | None = None, inline: bool = False) -> list[Result]:
    """`Checker.check_document` on the shared checker."""
    return shared().check_document(text, language, inline=inline, timeout=timeout)


def check_suggestion(doc: str, language: str, offset: int, suggestion: str, timeout: float | None = None) -> list[Result]:
    """`Checker.check_suggestion` on the shared checker."""
    return shared().check_suggestion(doc, language, offset, suggestion, timeout)


def check_suggestions(doc: str, language: str, offset: int, suggestions: list[str], timeout: float | None = None) -> list[list[Result]]:
    """`Checker.check_suggestions` on the shared checker."""
    return shared().check_suggestions(doc, language, offset, suggestions, timeout)


def answers_equal(a: str, b: str, timeout: float | None = None) -> bool:
    """`Checker.answers_equal` on the shared checker."""
    return shared().answers_equal(a, b, timeout)
