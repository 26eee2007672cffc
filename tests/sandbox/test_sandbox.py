"""Each protection of the sandbox on its own: what model-written code must not do, it cannot."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from sandbox import Limits, protections, run

pytestmark = pytest.mark.slow  # every test runs a sandboxed interpreter: a process of its own, not the unit tier


def test_a_sympy_and_numpy_computation_works() -> None:
    r = run("import math, numpy as np, sympy as sp\nx = sp.symbols('x')\n"
            "print(sp.solve(x**2 - 5*x + 6, x), int(np.arange(5).sum()), math.comb(10, 3))")
    assert (r.stdout, r.error, r.timed_out, r.exit_code) == ("[2, 3] 10 120\n", None, False, 0)


def test_threads_work_but_new_processes_do_not() -> None:
    r = run("import threading\nt = threading.Thread(target=lambda: print('thread ran'))\nt.start(); t.join()\n"
            "import subprocess\nsubprocess.run(['echo', 'escaped'])")
    assert r.stdout == "thread ran\n"
    assert r.error is not None and "PermissionError" in r.error and "escaped" not in r.stdout


def test_a_tcp_connection_to_a_local_listener_never_arrives() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(3)
    port = listener.getsockname()[1]
    arrived: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            arrived.append(listener.accept())

    t = threading.Thread(target=accept)
    t.start()
    r = run(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')")
    t.join()
    listener.close()
    assert arrived == [] and "connected" not in r.stdout
    assert r.error is not None and "PermissionError" in r.error


def test_writing_outside_its_folder_fails_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / f"escape-{uuid.uuid4().hex}.txt"
    r = run(f"open({str(target)!r}, 'w').write('x')\n")
    assert r.error is not None and "PermissionError" in r.error
    assert not target.exists()
    inside = run("open('notes.txt', 'w').write('fine'); print(open('notes.txt').read())")
    assert inside.stdout == "fine\n" and inside.error is None


def test_a_file_in_the_users_home_cannot_be_read() -> None:
    secret = Path.home() / f".mathassist-test-secret-{uuid.uuid4().hex}"
    secret.write_text("api key")
    try:
        r = run(f"print(open({str(secret)!r}).read())")
    finally:
        secret.unlink()
    assert "api key" not in r.stdout and r.error is not None and "PermissionError" in r.error


def test_the_environment_holds_no_secret_of_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATHASSIST_API_KEY", "sk-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    r = run("import os, json\nprint(json.dumps(dict(os.environ)))")
    assert "sk-secret" not in r.stdout and "sk-other" not in r.stdout
    assert "MATHASSIST_API_KEY" not in r.stdout and "HOME" in r.stdout


def test_a_fork_bomb_is_stopped_and_reported() -> None:
    r = run("import os\nwhile True:\n    os.fork()")
    assert r.error is not None and "PermissionError" in r.error and not r.timed_out


def test_an_8_gb_allocation_is_stopped_and_reported() -> None:
    r = run("block = bytearray(8 * 1024**3)\nprint('allocated')")
    assert "allocated" not in r.stdout and r.error is not None and r.error.startswith("MemoryError")


def test_an_endless_loop_is_stopped_at_the_wall_clock_limit() -> None:
    t = time.monotonic()
    r = run("while True:\n    pass", Limits.of(1.5, 1024))
    assert r.timed_out and r.error is not None and r.error.startswith("TimeoutError") and time.monotonic() - t < 5


def test_a_sleeping_program_is_stopped_too() -> None:
    r = run("import time\ntime.sleep(60)", Limits.of(1.0, 1024))
    assert r.timed_out and r.seconds < 3


def test_50_mb_of_output_is_stopped_and_reported() -> None:
    r = run("import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(50 * 1024):\n    sys.stdout.write(line)")
    assert r.error is not None and r.error.startswith("OutputLimitError")
    assert r.truncated and len(r.stdout) == Limits().keep_bytes


def test_killing_its_parent_does_not_take_the_caller_down() -> None:
    r = run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('killed it')")
    assert "killed it" not in r.stdout and r.error is not None and "PermissionError" in r.error
    assert os.getpid() > 0  # still here


def test_protections_in_force_are_reported() -> None:
    info = protections()
    assert info["works"]
    assert info["rlimits"]["memory_bytes"] == 1024 << 20
    assert "abi" in info["landlock"] and "denied" in info["seccomp"], info
