"""Run one program in the sandbox and report what happened (the parent's side).

The wall-clock limit is enforced from here: the child runs in its own process group, which is
killed when time is up, so neither a loop nor a blocked call outlives its limit. Output goes to
files (bounded by RLIMIT_FSIZE, so 50 MB of prints end the program instead of the caller's
memory); only the first `keep_bytes` are read back.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes.util
import functools
import math
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sandbox._boot import PATH as BOOT

__all__ = ["Limits", "RunResult", "SandboxError", "protections", "run"]

PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # CPU quirks of this machine's BLAS, not secrets
SYSTEM_READ = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/etc/ld.so.cache", "/etc/localtime",
               "/usr/share/zoneinfo", "/dev/null", "/dev/urandom", "/sys/devices/system/cpu", "/proc/cpuinfo")


class SandboxError(Exception):
    """The sandbox could not be set up (no temporary folder, no interpreter): not the program's fault."""


@dataclass(frozen=True)
class Limits:
    """What a program may use; defaults suit mathematics (a few seconds, 1 GiB)."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 11
    memory_mib: int = 1024
    output_mib: int = 8
    keep_bytes: int = 64 * 1024

    @classmethod
    def of(cls, wall_seconds: float, memory_mib: int) -> Limits:
        """Limits for a wall time and a memory size; the CPU limit is a backstop just above the wall time."""
        return cls(wall_seconds=wall_seconds, cpu_seconds=math.ceil(wall_seconds) + 1, memory_mib=memory_mib)

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, changed by MATHASSIST_SANDBOX_TIME (seconds) and MATHASSIST_SANDBOX_MEMORY (MiB)."""
        try:
            return cls.of(float(os.environ.get("MATHASSIST_SANDBOX_TIME", cls.wall_seconds)),
                          int(os.environ.get("MATHASSIST_SANDBOX_MEMORY", cls.memory_mib)))
        except ValueError as exc:
            raise SandboxError(f"MATHASSIST_SANDBOX_TIME must be seconds and MATHASSIST_SANDBOX_MEMORY MiB, as numbers ({exc})") from exc


@dataclass(frozen=True)
class RunResult:
    """What one run did: `error` is the program's last error line, or why it was stopped."""

    stdout: str
    error: str | None
    timed_out: bool
    exit_code: int | None
    seconds: float
    stderr: str = ""
    truncated: bool = False
    protections: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@functools.cache
def _libseccomp() -> str | None:
    """libseccomp's name, found once per process (find_library runs ldconfig: 30 ms)."""
    return ctypes.util.find_library("seccomp")


def _site_paths() -> list[str]:
    """Where sympy and numpy live: the interpreter's site-packages, added without running .pth hooks."""
    return list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))


def _read_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return sorted({os.path.realpath(p) for p in paths} | set(SYSTEM_READ))


def _env(folder: str) -> dict[str, str]:
    env = {"HOME": folder, "TMPDIR": folder, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return env | {k: os.environ[k] for k in PASSED_ENV if k in os.environ}


def run(code: str, limits: Limits | None = None) -> RunResult:
    """Run `code` in a fresh sandboxed interpreter; KeyboardInterrupt kills it and propagates."""
    lim = limits or Limits()
    try:
        folder = tempfile.mkdtemp(prefix="mathassist-sandbox-")
        outdir = tempfile.mkdtemp(prefix="mathassist-sandbox-out-")
    except OSError as exc:
        raise SandboxError(f"cannot make a temporary folder for the sandbox ({exc}); check TMPDIR") from exc
    try:
        Path(folder, "program.py").write_text(code)
        args = [folder, str(lim.memory_mib << 20), str(lim.cpu_seconds), str(lim.output_mib << 20), _libseccomp() or "",
                os.pathsep.join(_site_paths()), os.pathsep.join(_read_paths())]
        with open(os.path.join(outdir, "out"), "wb") as out, open(os.path.join(outdir, "err"), "wb") as err:
            started = time.monotonic()
            try:
                proc = subprocess.Popen([sys.executable, "-I", "-S", BOOT, *args], cwd=folder, env=_env(folder),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
            except OSError as exc:
                raise SandboxError(f"cannot start {sys.executable} for the sandbox ({exc})") from exc
            timed_out = _wait(proc, lim.wall_seconds)
            seconds = time.monotonic() - started
        return _result(proc.returncode, timed_out, seconds, outdir, folder, lim)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(outdir, ignore_errors=True)


def _wait(proc: subprocess.Popen[bytes], wall: float) -> bool:
    """Wait for the program; kill its process group at the wall-clock limit or on Ctrl-C."""
    try:
        proc.wait(timeout=wall)
        return False
    except subprocess.TimeoutExpired:
        _kill(proc)
        return True
    except BaseException:
        _kill(proc)
        raise


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _result(code: int | None, timed_out: bool, seconds: float, outdir: str, folder: str, lim: Limits) -> RunResult:
    stdout, truncated = _read(os.path.join(outdir, "out"), lim.keep_bytes)
    stderr, _ = _read(os.path.join(outdir, "err"), lim.keep_bytes)
    try:
        applied = ast.literal_eval(Path(folder, ".protections").read_text())
    except (OSError, ValueError, SyntaxError):
        applied = {}
    error = _why(code, timed_out, stderr, lim)
    if os.path.getsize(os.path.join(outdir, "out")) >= lim.output_mib << 20:  # Python ignores SIGXFSZ: writes fail
        error = f"OutputLimitError: the program wrote more than {lim.output_mib} MiB and was stopped"
    return RunResult(stdout, error, timed_out, code, round(seconds, 4), stderr, truncated, applied)


def _why(code: int | None, timed_out: bool, stderr: str, lim: Limits) -> str | None:
    if timed_out:
        return f"TimeoutError: the program ran longer than {lim.wall_seconds:g} s and was stopped"
    if code == -signal.SIGXCPU or code == -signal.SIGKILL:
        return f"TimeoutError: the program used more than {lim.cpu_seconds} s of CPU and was stopped"
    if code is not None and code < 0:
        return f"the program was killed by signal {signal.Signals(-code).name}"
    if code:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        if lines and "MemoryError" in lines[-1]:
            return f"MemoryError: the program needed more than {lim.memory_mib} MiB"
        return lines[-1] if lines else f"the program exited with status {code}"
    return None


def _read(path: str, keep: int) -> tuple[str, bool]:
    with open(path, "rb") as f:
        data = f.read(keep + 1)
    return data[:keep].decode("utf-8", errors="replace"), len(data) > keep


def protections() -> dict[str, Any]:
    """The protections in force on this machine, as a sandboxed `print(1)` finds them."""
    result = run("print(1)")
    return {"works": result.stdout.strip() == "1" and result.error is None, "interpreter": sys.executable,
            "limits": asdict(Limits.from_env()), "environment": sorted(_env("FOLDER")), **result.protections}
