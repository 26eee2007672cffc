"""Check claims in worker processes that are killed at a time limit (pebble), with a cache.

The pool starts on first use (each worker imports sympy once) and lives for the process; a
worker that runs past the limit is killed and replaced, and its step is `unknown`.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import multiprocessing
import os
import threading
from dataclasses import asdict, dataclass
from typing import Any

from checker._answers import equal
from checker._decide import decide
from mathcore.steps import Claim, claims_at, extract_claims

__all__ = ["DEFAULT_TIMEOUT", "SUGGESTION_TIMEOUT", "Result", "answers_equal", "check_claims", "check_document", "check_suggestion",
           "check_suggestions", "shutdown", "start", "verdict_of"]

DEFAULT_TIMEOUT = 2.0
SUGGESTION_TIMEOUT = 1.0  # a suggestion waits on its check: undecided in a second, it is shown as unchecked
WARM_UP_TIMEOUT = 120.0
CACHE_SIZE = 4096
_pool: Any = None
_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[str, str, dict[str, Any] | None]] = {}
_equal_cache: dict[tuple[str, str], bool] = {}


@dataclass(frozen=True)
class Result:
    """The verdict on one claim; `counterexample` only for `wrong`."""

    line: int
    column: int
    verdict: str
    message: str
    step: str
    counterexample: dict[str, Any] | None = None

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        out = asdict(self)
        if file is not None:
            out = {"file": file, **out}
        if out["counterexample"] is None:
            del out["counterexample"]
        return out


def _get_pool() -> Any:
    global _pool
    with _lock:
        if _pool is None:
            from pebble import ProcessPool

            # forkserver, not fork: the callers (a Jupyter kernel, the language server) run threads,
            # and a fork taken while another thread holds a lock can deadlock the child. The fork
            # server imports sympy and the parser once, so a worker killed at its time limit is
            # replaced in milliseconds, not in the seconds those imports take; `_nice` lowers their
            # priority below the editor's and the model's.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["checker._nice", "checker._read", "checker._decide", "checker._answers", "sympy",
                                            "latex2sympy2_extended", "checker._warm"])
            _pool = ProcessPool(max_workers=max(1, min(4, (os.cpu_count() or 2) - 1)), initializer=_warm_up, context=context)
            atexit.register(shutdown)
            _wait_warm(_pool)
        return _pool


def _wait_warm(pool: Any) -> None:
    """Wait until a worker has imported sympy and the parser (seconds on a cold machine), so that the
    time limit of a step measures the step and not the start of its worker."""
    with contextlib.suppress(Exception):  # a worker that cannot even start: the steps will say unknown
        pool.schedule(_warm_up, timeout=WARM_UP_TIMEOUT).result()


def _warm_up() -> None:
    """Import sympy and the parser in each new worker, so a step's time limit is the step's own."""
    from checker._read import read

    read("x + 1")


def start() -> None:
    """Start the worker processes now (seconds on a cold machine) rather than at the first step."""
    _get_pool()


def shutdown() -> None:
    """Stop the worker processes (they are started again when needed)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.stop()
            _pool.join(timeout=5)
            _pool = None


def _key(claim: Claim) -> tuple[Any, ...]:
    squash = lambda s: " ".join(s.split())  # noqa: E731
    return (squash(claim.lhs), claim.relation, squash(claim.rhs), claim.kind,
            tuple(squash(p) for p in claim.premise) if claim.premise else None)


def check_claims(claims: list[Claim], timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Decide every claim (in parallel workers); claims that are no claim after all are left out."""
    return [r for r in _results(claims, timeout) if r is not None]


def _results(claims: list[Claim], timeout: float) -> list[Result | None]:
    """The result of each claim, in order; None for one that is no claim after all."""
    if not claims:
        return []  # no workers started for a document without derivations
    pool = _get_pool()
    pending = {}
    for claim in claims:
        key = _key(claim)
        if key not in _cache and key not in pending:
            pending[key] = pool.schedule(decide, args=[claim], timeout=timeout)
    for key, future in pending.items():
        try:
            _cache[key] = future.result()
        except concurrent.futures.TimeoutError:
            _cache[key] = ("unknown", f"undecided within {timeout:g} s", None)
            _wait_warm(pool)  # the killed worker's replacement imports sympy again before the next step
        except Exception as exc:  # sympy raising on odd input: no verdict, never a false alarm
            _cache[key] = ("unknown", f"sympy could not decide it ({type(exc).__name__})", None)
    while len(_cache) > CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    results: list[Result | None] = []
    for claim in claims:
        verdict, message, example = _cache[_key(claim)]
        results.append(Result(claim.line, claim.column, verdict, message, claim.text, example) if verdict != "none" else None)
    return results


def answers_equal(a: str, b: str, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Whether two final answers are the same mathematics (`checker._answers.equal`: exact, strict
    about brackets), decided in a worker killed at `timeout`: undecided is not equal.

    Voting over a model's answers calls this: one odd answer (`10^{10^{10}}`, `1000000!`) costs at
    most `timeout` instead of hanging the notebook.
    """
    if a.strip() == b.strip():
        return True
    key = (a, b)
    if key not in _equal_cache:
        try:
            _equal_cache[key] = bool(_get_pool().schedule(equal, args=[a, b], timeout=timeout).result())
        except Exception:  # a timeout, or sympy failing on odd input: not shown to be equal
            _equal_cache[key] = False
        while len(_equal_cache) > CACHE_SIZE:
            _equal_cache.pop(next(iter(_equal_cache)))
    return _equal_cache[key]


def check_document(text: str, language: str, timeout: float = DEFAULT_TIMEOUT, inline: bool = False) -> list[Result]:
    """Every step of a document (`latex`, `markdown`, `plaintext`) with its verdict; with `inline`,
    the equations in `$...$` too (a model's solution)."""
    return check_claims(extract_claims(text, language, inline), timeout)


def check_suggestion(doc: str, language: str, offset: int, suggestion: str, timeout: float = SUGGESTION_TIMEOUT) -> list[Result]:
    """The verdicts on what `suggestion`, inserted at `offset` of an unfinished `doc`, claims
    (its rows, and `$...$` inside it), read against the lines above it."""
    return check_suggestions(doc, language, offset, [suggestion], timeout)[0]


def check_suggestions(doc: str, language: str, offset: int, suggestions: list[str],
                      timeout: float = SUGGESTION_TIMEOUT) -> list[list[Result]]:
    """`check_suggestion` for several candidates at once: their claims are decided in parallel."""
    per = [claims_at(doc[:offset] + s, language, offset, offset + len(s), inline=True) for s in suggestions]
    results = iter(_results([c for claims in per for c in claims], timeout))
    return [[r for r in [next(results) for _ in claims] if r is not None] for claims in per]


def verdict_of(results: list[Result]) -> str:
    """One verdict for a suggestion: `wrong` if any of its claims is, `verified` if all are, else `unknown`."""
    verdicts = {r.verdict for r in results}
    if "wrong" in verdicts:
        return "wrong"
    return "verified" if verdicts == {"verified"} else "unknown"
