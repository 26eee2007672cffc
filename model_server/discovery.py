"""Where the shared model process announces itself: `server.json` in a private runtime folder.

The folder is `$MATHASSIST_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/mathassist`, else
`~/.cache/mathassist/run`; it is made 0700 and the file 0600, because the file holds the bearer
token. The file is written atomically (temporary file + rename) so a reader never sees half of it.

A file can outlive its process (kill -9, the OOM killer, a crash, a reboot): `process_state`
tells a live model process from a dead one, a zombie, or a pid the system has since given to
another program, so that clients can replace a stale announcement instead of trusting it.
Every failure to use the folder is a `RuntimeDirError` that names the path and the fix.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "RuntimeDirError",
    "ServerInfo",
    "info_path",
    "pid_alive",
    "process_state",
    "read_info",
    "remove_info",
    "runtime_dir",
    "write_info",
]

log = logging.getLogger(__name__)
FIX = "make it writable, free some space, or set MATHASSIST_RUNTIME_DIR to another folder"


class RuntimeDirError(OSError):
    """The runtime folder or a file in it cannot be used; the message names the path and the fix."""


@dataclass(frozen=True)
class ServerInfo:
    """The contents of server.json."""

    pid: int
    url: str
    token: str
    model: str
    version: str
    started_at: float


def _runtime_path() -> Path:
    env = os.environ.get("MATHASSIST_RUNTIME_DIR")
    if env:
        return Path(env)
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "mathassist"
    return Path.home() / ".cache" / "mathassist" / "run"


def runtime_dir() -> Path:
    """The private runtime folder, created 0700 if missing."""
    path = _runtime_path()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise RuntimeDirError(f"cannot use the runtime folder {path} ({exc.strerror or exc}); {FIX}") from exc
    return path


def info_path() -> Path:
    return runtime_dir() / "server.json"


def write_info(info: ServerInfo) -> Path:
    """Write server.json (0600) atomically."""
    folder = runtime_dir()
    target = folder / "server.json"
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".server-", suffix=".json")
    except OSError as exc:
        raise RuntimeDirError(f"cannot write {target} ({exc.strerror or exc}); {FIX}") from exc
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(info), f)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RuntimeDirError(f"cannot write {target} ({exc.strerror or exc}); {FIX}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_info(folder: Path | None = None) -> ServerInfo | None:
    """The server announced in `folder` (default: the runtime folder), or None when there is none.

    A corrupt file (half-written by an old version, edited by hand) counts as no file: the next
    spawn replaces it. It is logged, so the user can see why a new process started.
    """
    path = (folder or runtime_dir()) / "server.json"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RuntimeDirError(f"cannot read {path} ({exc.strerror or exc}); {FIX}") from exc
    try:
        data = json.loads(text)
        info = ServerInfo(**{k: data[k] for k in ServerInfo.__dataclass_fields__})
        if not isinstance(info.pid, int) or not isinstance(info.url, str) or not isinstance(info.token, str):
            raise TypeError("wrong field types")
        return info
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the corrupt %s (%s); a new model process will replace it", path, exc)
        return None


def remove_info(pid: int) -> None:
    """Remove server.json if it still announces `pid` (a newer server may have replaced it)."""
    info = read_info()
    if info is not None and info.pid == pid:
        info_path().unlink(missing_ok=True)


def remove_corrupt() -> None:
    """Remove a server.json that cannot be read as one (called under the spawn lock)."""
    path = info_path()
    if path.exists() and read_info() is None:
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether `pid` names a running process (a zombie, killed but not yet reaped, is not running)."""
    return process_state(pid, check_identity=False) == "alive"


def process_state(pid: int, check_identity: bool = True) -> Literal["alive", "dead", "foreign"]:
    """`alive`, `dead` (gone, or a zombie), or `foreign` (the pid now belongs to another program).

    Identity is read from /proc where there is one; elsewhere a live pid counts as ours.
    """
    if pid <= 0:
        return "dead"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:  # someone else's process: certainly not our model process
        return "foreign"
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
        if stat[stat.rindex(")") + 2 :].startswith(("Z", "X")):
            return "dead"
        if check_identity:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if not any(b"mathassist" in a for a in argv) or b"serve" not in argv:
                return "foreign"
    except (OSError, ValueError):
        pass  # no /proc (macOS), or the process ended while we looked
    return "alive"
