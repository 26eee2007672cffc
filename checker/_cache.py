"""The checker's caches: a bounded one in memory with its own lock, and an optional file.

`BoundedCache` is what a `Checker` reads before deciding anything: least recently used entries
go first, and a batch is read back from the caller's own dict, never from the cache, so a
document with more distinct steps than the bound cannot lose an entry between writing and
reading it (the KeyError past 4,096 steps).

`CacheFile` keeps verdicts across runs of `mathassist check` in the user's cache folder (SQLite,
safe for several processes at once), keyed by the normalised step and the checker's version: a
hash of the checker's own source and of the versions of sympy and the LaTeX reader, so a new
checker never reads an old checker's verdicts. A step undecided in time is kept with its time
limit and decided again by a run with a longer one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Generic, TypeVar

from checker._types import Decision, Verdict

__all__ = ["BoundedCache", "CacheFile", "checker_version", "default_cache_dir"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_SOURCES = ("checker", "mathcore/steps.py")


class BoundedCache(Generic[K, V]):
    """A mapping of at most `size` entries, least recently used out first; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@functools.cache
def checker_version() -> str:
    """A short hash of what decides a verdict: the checker's source, the step finder, sympy and the reader."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = root / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    for package in ("sympy", "latex2sympy2_extended"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package}={metadata.version(package)}".encode())
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    """The user's cache folder for mathassist: $MATHASSIST_CACHE_DIR, else the platform's own."""
    if os.environ.get("MATHASSIST_CACHE_DIR"):
        return Path(os.environ["MATHASSIST_CACHE_DIR"])
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "mathassist" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "mathassist"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mathassist"


class CacheFile:
    """Verdicts kept on disk between runs; every failure to use the file only costs a re-decision."""

    def __init__(self, path: Path, version: str | None = None) -> None:
        self.path = path
        self.version = version or checker_version()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=10, check_same_thread=False)
            db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, version TEXT, verdict TEXT, "
                       "message TEXT, counterexample TEXT, undecided_within REAL)")
            db.execute("DELETE FROM verdicts WHERE version != ?", (self.version,))  # an older checker's verdicts
            db.commit()
            self._db = db
        except (OSError, sqlite3.Error):
            self._db = None  # a read-only or full disk: check without a file

    def get_many(self, keys: Iterable[str], timeout: float) -> dict[str, Decision | None]:
        """The kept decisions among `keys` (None: a step that makes no claim); an undecided one only
        if it was undecided within at least `timeout`."""
        keys = list(keys)
        out: dict[str, Decision | None] = {}
        if self._db is None or not keys:
            return out
        with self._lock:
            try:
                for start in range(0, len(keys), 500):
                    chunk = keys[start:start + 500]
                    rows = self._db.execute(
                        f"SELECT key, verdict, message, counterexample, undecided_within FROM verdicts WHERE version = ? "
                        f"AND key IN ({','.join('?' * len(chunk))})", (self.version, *chunk)).fetchall()
                    for key, verdict, message, example, within in rows:
                        if within is not None and within < timeout:
                            continue
                        out[key] = None if verdict is None else Decision(Verdict(verdict), message, json.loads(example) if example else None)
            except sqlite3.Error:
                return {}
        return out

    def put_many(self, items: Iterable[tuple[str, Decision | None, float | None]]) -> None:
        """Keep (key, decision, undecided_within) rows; `undecided_within` is the time limit a step ran out of."""
        if self._db is None:
            return
        rows = [(key, self.version, d.verdict.value if d else None, d.message if d else None,
                 json.dumps(d.counterexample) if d and d.counterexample else None, within) for key, d, within in items]
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.commit()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
