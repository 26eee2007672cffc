"""The sandbox that runs model-written Python: nothing else in mathassist runs such code.

A fresh interpreter per run (`python -I`), in a private temporary folder, with an empty
environment, and, applied by the interpreter to itself before it reads the program:

- resource limits: address space (memory), CPU seconds, file size (which bounds the output,
  written to a file), no core dumps; the wall time is enforced from outside (the process group
  is killed);
- Landlock (Linux 5.13+): reads only beneath the Python installation and the system's shared
  libraries, writes only in the private folder;
- seccomp (libseccomp): no new processes (threads are fine), no programs, no sockets, no signals
  to other processes, no ptrace.

Landlock and libseccomp are called through ctypes (see `_boot.py` for why not their bindings);
where the system lacks one, the run goes on without it and `protections()` says so.

`protections()` says which of these are in force on this machine (`mathassist sandbox --info`).

    SandboxError          the sandbox itself could not start (not the program's fault)
"""

from __future__ import annotations

from sandbox._run import Limits, RunResult, SandboxError, protections, run

__all__ = ["Limits", "RunResult", "SandboxError", "protections", "run"]
