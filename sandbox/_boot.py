"""What the sandboxed interpreter runs first (`python -I -S _boot.py ARGS...`): it restricts
itself, records what it managed to restrict, then runs the program from `program.py`.

Trusted code: it runs before the program is read, and every restriction is applied by the
process to itself, so the parent needs no `preexec_fn` (unsafe in threaded callers: a kernel, a
server). It talks to Landlock (three system calls) and libseccomp (four functions) through
ctypes directly: the PyPI bindings (`landlock`, `pyseccomp`) import dataclasses, inspect, typing
and ctypes.util, which cost 65 ms per run, twice a bare interpreter's start-up (bench/sandbox.py);
this costs a few. It imports nothing it does not use at run time for the same reason,
and is run as a file (`-I` keeps its folder off `sys.path`, so the program cannot import it or
anything beside it).

ARGS: folder, memory bytes, CPU seconds, file bytes, libseccomp's name (or ""), site-packages
paths and readable paths (each joined with os.pathsep).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys

TYPE_CHECKING = False  # `typing` costs 10 ms here, as much as the rest of the boot: imported for type checkers only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

PATH = os.path.abspath(__file__)  # what `sandbox.run` starts


def set_rlimits(memory: int, cpu: int, fsize: int) -> dict[str, int]:
    """Memory, CPU time, file size, no core files, few descriptors: enforced by the kernel."""
    for name, soft, hard in (("RLIMIT_AS", memory, memory), ("RLIMIT_CPU", cpu, cpu + 1), ("RLIMIT_FSIZE", fsize, fsize),
                             ("RLIMIT_CORE", 0, 0), ("RLIMIT_NOFILE", 256, 256)):
        resource.setrlimit(getattr(resource, name), (soft, hard))
    return {"memory_bytes": memory, "cpu_seconds": cpu, "file_bytes": fsize}


def seccomp_filter(libseccomp: str) -> tuple[Callable[[], int], list[str]]:
    """Build (not load) the filter while libseccomp can still be opened; returns its loader and what it denies."""
    lib = ctypes.CDLL(libseccomp, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]

    class Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]

    ctx = lib.seccomp_init(0x7FFF0000)  # SCMP_ACT_ALLOW by default: a deny list
    if not ctx:
        raise OSError("seccomp_init failed")

    def deny(err: int) -> int:
        return 0x00050000 | err  # SCMP_ACT_ERRNO

    def rule(action: int, name: str, *cmps: tuple[int, int, int, int]) -> None:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return  # no such system call on this architecture (fork on arm64)
        arr = (Cmp * max(1, len(cmps)))(*[Cmp(*c) for c in cmps])
        if lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr) < 0:
            raise OSError(f"seccomp rule for {name} failed")

    denied = ["fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "socket",
              "socketpair", "tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "mount", "umount2", "unshare",
              "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup",
              "setsid", "setpgid"]
    for name in denied:
        rule(deny(errno.EPERM), name)
    rule(deny(errno.EPERM), "clone", (0, 7, 0x00010000, 0))  # MASKED_EQ: flags without CLONE_THREAD make a process
    rule(deny(errno.ENOSYS), "clone3")  # its flags sit behind a pointer: glibc falls back to clone
    me = os.getpid()
    rule(deny(errno.EPERM), "kill", (0, 1, me, 0))  # NE: signals only to itself
    rule(deny(errno.EPERM), "tgkill", (0, 1, me, 0))
    return (lambda: int(lib.seccomp_load(ctx))), [*denied, "clone (new processes)", "clone3", "kill/tgkill of other processes"]


def landlock(libc: Any, folder: str, read_paths: str) -> dict[str, Any]:
    """Reads beneath the Python installation and system libraries, writes only in `folder`."""
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        raise OSError(ctypes.get_errno(), "Landlock is not available in this kernel")
    file_rights = 0b111 | ((1 << 14) if abi >= 3 else 0) | ((1 << 15) if abi >= 5 else 0)  # execute, write, read, truncate, ioctl
    every = file_rights | (0b1111111111 << 3) | ((1 << 13) if abi >= 2 else 0)  # + directory rights, refer
    handled = ctypes.c_uint64(every)
    ruleset = libc.syscall(444, ctypes.byref(handled), 8, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")

    class Beneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    readable = []
    for path, rights in [(p, 0b1101) for p in read_paths.split(os.pathsep) if p] + [(folder, every)]:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        allowed = rights if os.path.isdir(path) else rights & file_rights
        if libc.syscall(445, ruleset, 1, ctypes.byref(Beneath(allowed & every, fd)), 0) < 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule {path} failed")
        os.close(fd)
        readable.append(path)
    if libc.prctl(38, 1, 0, 0, 0) < 0 or libc.syscall(446, ruleset, 0) < 0:  # PR_SET_NO_NEW_PRIVS, landlock_restrict_self
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    return {"abi": abi, "read": readable[:-1], "write": [folder]}


def restrict(folder: str, memory: int, cpu: int, fsize: int, libseccomp: str, read_paths: str) -> dict[str, Any]:
    """Apply every protection this system has; what each did (or why not) is the result."""
    done: dict[str, Any] = {"rlimits": set_rlimits(memory, cpu, fsize)}
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    load_seccomp: Callable[[], int] | None = None
    try:
        if not libseccomp:
            raise OSError("libseccomp was not found on this system")
        load_seccomp, denied = seccomp_filter(libseccomp)
    except Exception as exc:
        done["seccomp"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        done["landlock"] = landlock(libc, folder, read_paths)
    except Exception as exc:
        done["landlock"] = {"error": f"{type(exc).__name__}: {exc}"}
    if load_seccomp is not None:
        done["seccomp"] = {"denied": denied} if load_seccomp() == 0 else {"error": "seccomp_load failed"}
    return done


def main(argv: list[str]) -> None:
    """Restrict this process, record the protections in `.protections`, run `program.py` as `__main__`."""
    folder, memory, cpu, fsize, libseccomp, site_paths, read_paths = argv[:7]
    sys.path.extend(p for p in site_paths.split(os.pathsep) if p)  # -S: site-packages without running .pth hooks
    done = restrict(folder, int(memory), int(cpu), int(fsize), libseccomp, read_paths)
    with open(os.path.join(folder, ".protections"), "w") as out:
        out.write(repr(done))
    os.chdir(folder)
    with open("program.py") as src:
        code = src.read()
    sys.argv = ["program.py"]
    sys.path.insert(0, folder)
    namespace = {"__name__": "__main__", "__file__": "program.py", "__builtins__": __builtins__}
    try:
        exec(compile(code, "program.py", "exec"), namespace)
    except SystemExit:
        raise
    except BaseException as exc:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        sys.exit(1)  # flushes what the program printed before it failed


if __name__ == "__main__":
    main(sys.argv[1:])
