"""`Checker`: the one owner of the checker's workers, caches and configuration.

Each claim is decided in a worker process (pebble) that is killed at the time limit, never by a
signal in the caller's process; the pool starts on first use, from a fork server that has
imported sympy and the reader once, and a killed worker is replaced in milliseconds. Verdicts are
cached per normalised claim in a bounded cache with its own lock (answers have their own), and,
with `CheckerConfig.cache_file`, in a file that outlives the process. Several threads may call
one `Checker` at once (the language server's handlers, a notebook's background checks).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import dataclasses
import json
import multiprocessing
import threading
from typing import Any

from checker._answers import equal
from checker._cache import BoundedCache, CacheFile
from checker._config import CheckerConfig
from checker._decide import decide
from checker._types import CheckerError, Decision, Result, Verdict
from mathcore.steps import Claim, claims_at, extract_claims

__all__ = ["Checker", "verdict_of"]

WARM_UP_TIMEOUT = 120.0
_PRELOAD = ["checker._nice", "checker._read", "checker._decide", "checker._answers", "sympy", "latex2sympy2_extended", "checker._warm"]
_Key = tuple[Any, ...]


def claim_key(claim: Claim) -> _Key:
    """What a verdict depends on: every field of the claim but its position, blanks squashed."""
    def squash(value: Any) -> Any:
        if isinstance(value, str):
            return " ".join(value.split())
        if isinstance(value, tuple):
            return tuple(squash(v) for v in value)
        return value

    return tuple(squash(getattr(claim, f.name)) for f in dataclasses.fields(claim) if f.name not in ("line", "column"))


def _warm_up() -> None:
    """Import sympy and the parser in each new worker, so a step's time limit is the step's own."""
    from checker._read import read

    read("x + 1")


class Checker:
    """Decides claims in killable workers, with bounded caches; use as a context manager or `close()`."""

    def __init__(self, config: CheckerConfig | None = None) -> None:
        self.config = config or CheckerConfig()
        self._lock = threading.Lock()
        self._pool: Any = None
        self._steps: BoundedCache[_Key, tuple[Decision | None]] = BoundedCache(self.config.cache_size)  # (None,): no claim
        self._answers: BoundedCache[tuple[str, str], bool] = BoundedCache(self.config.cache_size)
        self._file = CacheFile(self.config.cache_file) if self.config.cache_file is not None else None
        self.decided = 0  # claims sent to the workers so far (the rest came from a cache)

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- workers -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker processes now (seconds on a cold machine) rather than at the first step."""
        self._get_pool()

    def close(self) -> None:
        """Stop the worker processes (started again when needed) and close the cache file."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            atexit.unregister(self.close)
            pool.stop()
            pool.join(timeout=5)
        if self._file is not None:
            self._file.close()

    def _get_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                try:
                    from pebble import ProcessPool

                    # forkserver, not fork: the callers (a Jupyter kernel, the language server) run threads,
                    # and a fork taken while another thread holds a lock can deadlock the child. The fork
                    # server imports sympy and the parser once, so a worker killed at its time limit is
                    # replaced in milliseconds; `_nice` lowers the workers' priority below the editor's.
                    context = multiprocessing.get_context("forkserver")
                    context.set_forkserver_preload(_PRELOAD if self.config.background else [m for m in _PRELOAD if m != "checker._nice"])
                    self._pool = ProcessPool(max_workers=self.config.worker_count(), initializer=_warm_up, context=context)
                except (OSError, ValueError) as exc:
                    raise CheckerError(f"the checker's worker processes could not start: {exc}") from exc
                atexit.register(self.close)  # workers never outlive their process, whoever forgot to close
                self._wait_warm(self._pool)
            return self._pool

    @staticmethod
    def _wait_warm(pool: Any) -> None:
        """Wait until a worker has imported sympy and the parser, so a time limit measures the step."""
        with contextlib.suppress(Exception):  # a worker that cannot even start: the steps will say unknown
            pool.schedule(_warm_up, timeout=WARM_UP_TIMEOUT).result()

    # -- claims --------------------------------------------------------------------------------------------------

    def decisions(self, claims: list[Claim], timeout: float | None = None) -> list[Decision | None]:
        """The decision on each claim, in order (None: no claim after all), from the caches or the workers."""
        timeout = timeout or self.config.timeout
        keys = [claim_key(c) for c in claims]
        known: dict[_Key, Decision | None] = {}
        missing: dict[_Key, Claim] = {}
        for key, claim in zip(keys, claims, strict=True):
            if key in known or key in missing:
                continue
            hit = self._steps.get(key)
            if hit is not None:
                known[key] = hit[0]
            else:
                missing[key] = claim
        if missing and self._file is not None:
            names = {self._file_key(k): k for k in missing}
            for name, decision in self._file.get_many(names, timeout).items():
                key = names[name]
                known[key] = decision
                self._steps.put(key, (decision,))
                del missing[key]
        if missing:
            decided = self._decide(missing, timeout)
            known.update({k: d for k, (d, _) in decided.items()})
            if self._file is not None:
                self._file.put_many((self._file_key(k), d, within) for k, (d, within) in decided.items())
        return [known[k] for k in keys]

    def _file_key(self, key: _Key) -> str:
        return json.dumps([dataclasses.astuple(self.config.read), key])

    def _decide(self, claims: dict[_Key, Claim], timeout: float) -> dict[_Key, tuple[Decision | None, float | None]]:
        """Decide in the workers: key -> (decision, the time limit it ran out of, if it did)."""
        pool = self._get_pool()
        self.decided += len(claims)
        futures = {key: pool.schedule(decide, args=[claim, self.config.read], timeout=timeout) for key, claim in claims.items()}
        out: dict[_Key, tuple[Decision | None, float | None]] = {}
        for key, future in futures.items():
            within: float | None = None
            try:
                decision = future.result()
            except concurrent.futures.TimeoutError:
                decision, within = Decision(Verdict.UNKNOWN, f"undecided within {timeout:g} s"), timeout
                self._wait_warm(pool)  # the killed worker's replacement imports sympy again before the next step
            except Exception as exc:  # sympy raising on odd input: no verdict, never a false alarm
                decision = Decision(Verdict.UNKNOWN, f"sympy could not decide it ({type(exc).__name__})")
            out[key] = (decision, within)
            self._steps.put(key, (decision,))
        return out

    def check_claims(self, claims: list[Claim], timeout: float | None = None) -> list[Result]:
        """Decide every claim (in parallel workers); claims that are no claim after all are left out."""
        return [r for r in self._results(claims, timeout) if r is not None]

    def _results(self, claims: list[Claim], timeout: float | None) -> list[Result | None]:
        if not claims:
            return []  # no workers started for a document without derivations
        return [None if d is None else Result(c.line, c.column, d.verdict, d.message, c.text, d.counterexample)
                for c, d in zip(claims, self.decisions(claims, timeout), strict=True)]

    def check_document(self, text: str, language: str, inline: bool = False, timeout: float | None = None) -> list[Result]:
        """Every step of a document (`latex`, `markdown`, `plaintext`) with its verdict; with `inline`,
        the equations in `$...$` too (a model's solution)."""
        return self.check_claims(extract_claims(text, language, inline), timeout)

    def check_suggestions(self, doc: str, language: str, offset: int, suggestions: list[str],
                          timeout: float | None = None) -> list[list[Result]]:
        """The verdicts on what each suggestion, inserted at `offset` of an unfinished `doc`, claims (its
        rows, and `$...$` inside it), read against the lines above it; all decided in parallel."""
        per = [claims_at(doc[:offset] + s, language, offset, offset + len(s), inline=True) for s in suggestions]
        results = iter(self._results([c for claims in per for c in claims], timeout or self.config.suggestion_timeout))
        return [[r for r in [next(results) for _ in claims] if r is not None] for claims in per]

    def check_suggestion(self, doc: str, language: str, offset: int, suggestion: str, timeout: float | None = None) -> list[Result]:
        """`check_suggestions` for one suggestion."""
        return self.check_suggestions(doc, language, offset, [suggestion], timeout)[0]

    # -- answers -------------------------------------------------------------------------------------------------

    def answers_equal(self, a: str, b: str, timeout: float | None = None) -> bool:
        """Whether two final answers are the same mathematics (`checker._answers.equal`: exact, strict
        about brackets), decided in a worker killed at `timeout`: undecided is not equal.

        Voting over a model's answers calls this: one odd answer (`10^{10^{10}}`, `1000000!`) costs at
        most `timeout` instead of hanging the notebook.
        """
        if a.strip() == b.strip():
            return True
        hit = self._answers.get((a, b))
        if hit is not None:
            return hit
        try:
            same = bool(self._get_pool().schedule(equal, args=[a, b], timeout=timeout or self.config.timeout).result())
        except CheckerError:
            raise
        except Exception:  # a timeout, or sympy failing on odd input: not shown to be equal
            same = False
        self._answers.put((a, b), same)
        return same


def verdict_of(results: list[Result]) -> Verdict:
    """One verdict for a suggestion: wrong if any of its claims is, verified if all are (a rounded
    value counts as verified), else unknown."""
    verdicts = {r.verdict for r in results}
    if Verdict.WRONG in verdicts:
        return Verdict.WRONG
    return Verdict.VERIFIED if verdicts and verdicts <= {Verdict.VERIFIED, Verdict.APPROXIMATE} else Verdict.UNKNOWN
