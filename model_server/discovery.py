"""Where the shared model process announces itself: `server.json` in a private runtime folder.

The folder is `$MATHASSIST_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/mathassist`, else
`~/.cache/mathassist/run`; it is made 0700 and the file 0600, because the file holds the bearer
token. The file is written atomically (temporary file + rename) so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ServerInfo", "pid_alive", "read_info", "remove_info", "runtime_dir", "write_info"]


@dataclass(frozen=True)
class ServerInfo:
    """The contents of server.json."""

    pid: int
    url: str
    token: str
    model: str
    version: str
    started_at: float


def runtime_dir() -> Path:
    """The private runtime folder, created 0700 if missing."""
    env = os.environ.get("MATHASSIST_RUNTIME_DIR")
    if env:
        path = Path(env)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "mathassist"
    else:
        path = Path.home() / ".cache" / "mathassist" / "run"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def info_path() -> Path:
    return runtime_dir() / "server.json"


def write_info(info: ServerInfo) -> Path:
    """Write server.json (0600) atomically."""
    folder = runtime_dir()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".server-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(info), f)
        os.replace(tmp, folder / "server.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder / "server.json"


def read_info() -> ServerInfo | None:
    """The announced server, or None when there is no readable file."""
    try:
        data = json.loads(info_path().read_text())
        return ServerInfo(**{k: data[k] for k in ServerInfo.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_info(pid: int) -> None:
    """Remove server.json if it still announces `pid` (a newer server may have replaced it)."""
    info = read_info()
    if info is not None and info.pid == pid:
        info_path().unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
