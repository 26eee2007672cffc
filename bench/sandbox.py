"""The sandbox's overhead, measured side by side in one run.

- one sandboxed `print(1)` against `python -c 'print(1)'` (goal: under 2x);
- a sympy solve in the sandbox against the same program run plainly, and against the program's
  own time (measured inside it);
- which protections are in force here.

    python -m bench.sandbox [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from sandbox import protections, run

SYMPY = ("import time\nt = time.perf_counter()\nimport sympy as sp\nx = sp.symbols('x')\n"
         "print(sp.solve(x**3 - 6*x**2 + 11*x - 6, x))\nprint(f'own {time.perf_counter() - t:.4f}')")


def plain(code: str) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, out


def sandboxed(code: str) -> tuple[float, str]:
    t = time.perf_counter()
    r = run(code)
    assert r.error is None, r.error
    return time.perf_counter() - t, r.stdout


def median(fn, code: str, repeat: int) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    runs = [fn(code) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    p, _ = median(plain, "print(1)", args.repeat)
    s, _ = median(sandboxed, "print(1)", args.repeat)
    print(f"print(1): sandboxed {s * 1000:.1f} ms, python -c {p * 1000:.1f} ms: {s / p:.2f}x (goal < 2x), median of {args.repeat}")
    ps, _ = median(plain, SYMPY, max(3, args.repeat // 4))
    ss, out_s = median(sandboxed, SYMPY, max(3, args.repeat // 4))
    own = float(out_s.split("own ")[1])
    print(f"sympy solve: sandboxed {ss * 1000:.0f} ms, plain {ps * 1000:.0f} ms ({ss / ps:.2f}x); the program's own time "
          f"(import sympy + solve) {own * 1000:.0f} ms, so the sandbox adds {(ss - own) * 1000:.0f} ms")
    info = protections()
    print("in force: " + json.dumps({k: info[k] for k in ("rlimits", "landlock", "seccomp")})[:2000])


if __name__ == "__main__":
    main()
