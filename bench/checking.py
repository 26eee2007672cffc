"""The derivation checker, measured (issue: checked mathematics). Parts, each printed as a table:

- `inline`: over unfinished derivations of our own (`bench.derivations`, held out from training),
  the real `mathassist lsp` with `mathassist.inline.verify` off and on, against one model process:
  the share of shown suggestions that are wrong (judged by sympy against the known next value) and
  the share of positions that get a right one;
- `latency`: the time checking adds to one suggestion (`checker.check_suggestion`), p50 and p95;
- `document`: `mathassist check` on a generated 1000-step document, cold (a new process) and in
  one process before and after an edit of one step (what the language server does);
- `answers`: answer equivalence beside Math-Verify 0.9 on a table of pairs with known truth;
- `steps`: the checker beside Math-Verify used naively per step (`verify(left side, right side)`).

    python -m bench.checking [--only inline,latency,document,answers,steps] [--count 100]

`answers` and `steps` need `pip install math-verify==0.9.0` (`make bench` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.derivations import Case, cases, judge

PARTS = ("inline", "latency", "document", "answers", "steps")


# -- inline suggestions through the real language server ------------------------------------------------------------

async def _suggestions(runtime_dir: Path, verify: str, items: list[Case]) -> list[str | None]:
    from lsprotocol import types
    from pytest_lsp import client_capabilities
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env={**os.environ, "MATHASSIST_RUNTIME_DIR": str(runtime_dir)})
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"inline": {"verify": verify}}))
    out: list[str | None] = []
    try:
        for i, case in enumerate(items):
            uri = f"file:///bench/{verify}/{i}.{'tex' if case.language == 'latex' else 'md'}"
            client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, case.language, 1, case.text)))
            lines = case.text.split("\n")
            result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=len(lines) - 1, character=len(lines[-1]))))
            items_ = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
            text = items_[0].insert_text if items_ else None
            out.append(text if isinstance(text, str) else None)
            client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    finally:
        await client.shutdown_session()
    return out


def inline(count: int) -> list[tuple[Case, str | None]]:
    from bench._server import model_process

    items = cases(count)
    with model_process() as server:
        t = time.perf_counter()
        off = asyncio.run(_suggestions(server.runtime_dir, "off", items))
        off_s = time.perf_counter() - t
        t = time.perf_counter()
        on = asyncio.run(_suggestions(server.runtime_dir, "filter", items))
        on_s = time.perf_counter() - t
    print(f"\n## inline suggestions: {count} unfinished derivations (bench.derivations, seed 2026), embedded model, greedy\n")
    print("| verify | shown | wrong among shown | positions with a right suggestion | seconds |")
    print("|---|---|---|---|---|")
    for name, got, seconds in (("off", off, off_s), ("filter", on, on_s)):
        verdicts = [judge(s, c) for s, c in zip(got, items, strict=True)]
        shown = sum(v != "none" for v in verdicts)
        wrong = verdicts.count("wrong")
        right = verdicts.count("right")
        print(f"| {name} | {shown} | {wrong} ({100 * wrong / max(shown, 1):.1f}%) | {right} ({100 * right / count:.1f}%) | {seconds:.0f} |")
    families = sorted({c.family for c in items})
    print("\n| family | wrong shown, off | wrong shown, filter | right, off | right, filter |\n|---|---|---|---|---|")
    for fam in families:
        idx = [i for i, c in enumerate(items) if c.family == fam]
        row = [sum(judge(got[i], items[i]) == kind for i in idx) for got in (off, on) for kind in ("wrong",)]
        row += [sum(judge(got[i], items[i]) == "right" for i in idx) for got in (off, on)]
        print(f"| {fam} ({len(idx)}) | " + " | ".join(map(str, row)) + " |")
    shown_wrong = [(c, s) for c, s in zip(items, on, strict=True) if judge(s, c) == "wrong"]
    if shown_wrong:
        print("\nwrong suggestions shown with the filter on (the checker could not refute them):\n")
        for c, s in shown_wrong:
            print(f"- `{c.text.split(chr(10))[-1]}` ... `{s}` ({c.family})")
    return list(zip(items, off, strict=True))


# -- latency of checking one suggestion ------------------------------------------------------------------------------

def latency(pairs: list[tuple[Case, str | None]]) -> None:
    from checker import check_suggestion

    check_suggestion("\\[ 1 = 1 \\]", "latex", 0, "")  # starts the workers: not what is measured
    check_suggestion("\\begin{align*}\n2x &= ", "latex", 19, "4")
    times = []
    for case, suggestion in pairs:
        if not suggestion:
            continue
        t = time.perf_counter()
        check_suggestion(case.text, case.language, len(case.text), suggestion)
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"\n## checking one suggestion ({len(times)} suggestions of the inline part, each new to the checker)\n")
    print(f"| p50 | p95 | max |\n|---|---|---|\n| {statistics.median(times):.1f} ms | {p95:.1f} ms | {times[-1]:.1f} ms |")


# -- a 1000-step document --------------------------------------------------------------------------------------------

def _document(steps: int) -> str:
    import random

    rng = random.Random(7)
    blocks = []
    for b in range(steps // 3):  # three claims a block: two chain steps and an equation step
        p, q = rng.randint(1, 40), rng.randint(1, 40)
        wrong = b % 10 == 3
        blocks.append(
            f"Block {b}.\n\\begin{{align*}}\n(x + {p})(x + {q}) &= x^2 + {q}x + {p}x + {p * q} \\\\\n"
            f"&= x^2 + {p + q}x + {p * q + (1 if wrong else 0)} \\\\\n{p}y + {q} &= {p * 3 + q} \\\\\n{p}y &= {p * 3}\n\\end{{align*}}\n")
    return "\\documentclass{article}\n\\begin{document}\n" + "\n".join(blocks) + "\\end{document}\n"


def document(steps: int = 1000) -> None:
    from checker import check_document

    text = _document(steps)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.tex"
        path.write_text(text)
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "mathassist", "check", str(path)], capture_output=True, text=True)
        cold = time.perf_counter() - t
    t = time.perf_counter()
    first = check_document(text, "latex")
    in_process = time.perf_counter() - t
    edited = text.replace("(x + ", "(x + 1 + ", 1)  # one step changed
    t = time.perf_counter()
    again = check_document(edited, "latex")
    incremental = time.perf_counter() - t
    t = time.perf_counter()
    check_document(edited, "latex")
    unchanged = time.perf_counter() - t
    wrong = sum(r.verdict == "wrong" for r in first)
    print(f"\n## `mathassist check` on a generated document: {len(first)} steps, {wrong} of them wrong\n")
    print("| run | seconds |\n|---|---|")
    print(f"| cold: `mathassist check long.tex` (new process: imports, workers, every step; exit {r.returncode}) | {cold:.2f} |")
    print(f"| in one process, first check | {in_process:.2f} |")
    print(f"| the same process after an edit of one step ({len(again)} steps) | {incremental:.3f} |")
    print(f"| the same process, nothing changed | {unchanged:.3f} |")


# -- answers beside Math-Verify --------------------------------------------------------------------------------------

ANSWER_PAIRS: list[tuple[str, str, bool]] = [
    # fractions and decimals
    ("\\frac{1}{2}", "0.5", True), ("\\frac{3}{4}", "0.75", True), ("\\dfrac{6}{8}", "\\frac{3}{4}", True),
    ("\\frac{1}{3}", "0.33", False), ("\\frac{2}{3}", "0.667", False), ("\\frac12", "\\frac{1}{2}", True),
    ("-\\frac{1}{2}", "\\frac{-1}{2}", True), ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False),
    # roots
    ("\\sqrt{8}", "2\\sqrt{2}", True), ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True), ("\\sqrt{2}", "1.414", False),
    ("\\sqrt{12}", "3\\sqrt{2}", False), ("2\\sqrt{3}", "\\sqrt{12}", True),
    # percentages and degrees
    ("50\\%", "50", True), ("25\\%", "\\frac{1}{4}", True), ("50\\%", "5", False), ("30^\\circ", "30", True),
    ("45^{\\circ}", "45", True), ("60^\\circ", "30", False),
    # sets, lists, intervals
    ("\\{1, 2\\}", "\\{2, 1\\}", True), ("-2, 3", "3, -2", True), ("1, 2", "1, 2, 3", False), ("x = 2 \\text{ or } x = 3", "2, 3", True),
    ("[2, 5)", "[2,5)", True), ("[2, 5)", "(2, 5)", False), ("(-\\infty, 3]", "(-\\infty, 3)", False), ("(0, 1)", "(0,1)", True),
    # expressions
    ("(x - 1)(x + 6)", "x^2 + 5x - 6", True), ("x^2 - 1", "x^2 + 1", False), ("2\\pi", "2 \\pi", True), ("\\pi r^2", "r^2\\pi", True),
    # huge numbers
    ("10^{10^{10}}", "10^{10^{10}} + 1", False), ("1000000!", "1", False), ("2^{100}", "1267650600228229401496703205376", True),
    ("10^{100}", "10^{100} + 1", False), ("1,000,000", "10^6", True), ("1{,}000", "1000", True),
]


def _timed(fn: Any, timeout: float) -> tuple[Any, bool]:
    """fn() in a worker process killed at `timeout` (pebble): (result, timed_out)."""
    from pebble import ProcessPool

    with ProcessPool(max_workers=1) as pool:
        future = pool.schedule(fn, timeout=timeout)
        try:
            return future.result(), False
        except TimeoutError:
            return None, True
        except Exception:
            return False, False


def _math_verify(a: str, b: str) -> bool:
    from math_verify import parse, verify

    return bool(verify(parse(f"${a}$"), parse(f"${b}$")))


def answers(timeout: float = 5.0) -> None:
    import functools

    from checker import answers_equal

    answers_equal("1", "1.0")  # starts the workers
    rows = []
    for a, b, truth in ANSWER_PAIRS:
        theirs, their_timeout = _timed(functools.partial(_math_verify, a, b), timeout)
        t = time.perf_counter()
        ours = answers_equal(a, b)
        ours_s = time.perf_counter() - t
        rows.append((a, b, truth, theirs, their_timeout, ours, ours_s))
    print(f"\n## answer equivalence: {len(rows)} pairs, {sum(r[2] for r in rows)} equal (bound {timeout:g} s each)\n")
    print("| | right | false positives | false negatives | timeouts |\n|---|---|---|---|---|")
    for name, idx, to in (("Math-Verify 0.9", 3, 4), ("mathassist", 5, None)):
        right = sum(bool(r[idx]) == r[2] for r in rows if not (to and r[to]))
        fp = sum(bool(r[idx]) and not r[2] for r in rows)
        fn = sum(not r[idx] and r[2] for r in rows if not (to and r[to]))
        timeouts = sum(r[to] for r in rows) if to else sum(r[6] > 1.9 for r in rows)
        print(f"| {name} | {right}/{len(rows)} | {fp} | {fn} | {timeouts} |")
    print("\n| a | b | equal | Math-Verify | mathassist |\n|---|---|---|---|---|")
    for a, b, truth, theirs, their_timeout, ours, _ in rows:
        if bool(theirs) != truth or bool(ours) != truth or their_timeout:
            shown = "timeout" if their_timeout else str(bool(theirs))
            print(f"| `{a}` | `{b}` | {truth} | {shown} | {bool(ours)} |")


# -- steps beside Math-Verify used naively ---------------------------------------------------------------------------

STEP_TABLE: list[tuple[str, str]] = [  # (document, truth of its last claim: right / wrong / none: no claim to judge)
    ("\\begin{align*}\n(x+1)^2 &= x^2 + 2x + 1 \\\\\n&= x^2 + x + 1\n\\end{align*}", "wrong"),
    ("\\begin{align*}\n(x+1)^2 &= x^2 + 2x + 1\n\\end{align*}", "right"),
    ("\\[ (a - b)(a + b) = a^2 - b^2 \\]", "right"),
    ("\\begin{align*}\n(a - b)^2 &= (a - b)(a - b) \\\\\n&= a^2 - b^2\n\\end{align*}", "wrong"),
    ("\\begin{align*}\n2x + 3 &= 7 \\\\\n2x &= 4\n\\end{align*}", "right"),
    ("\\begin{align*}\n2x + 3 &= 7 \\\\\n2x &= 5\n\\end{align*}", "wrong"),
    ("\\begin{align*}\n3y - 6 &= 9 \\\\\ny &= 5\n\\end{align*}", "right"),
    ("\\begin{align*}\n3y - 6 &= 9 \\\\\ny &= 3\n\\end{align*}", "wrong"),
    ("\\[ f(x) = x^2 + 1 \\]", "none"),
    ("\\[ x^2 - 5x + 6 = 0 \\]", "none"),
    ("\\[ A = \\pi r^2 \\]", "none"),
    ("\\[ g(t) = \\sin t + \\cos t \\]", "none"),
    ("\\[ 2 + 3 = 6 \\]", "wrong"),
    ("\\[ 12 \\cdot 12 = 144 \\]", "right"),
    ("\\[ \\frac{d}{dx} x^3 = 3x^2 \\]", "right"),
    ("\\[ \\frac{d}{dx} x^3 = 3x^3 \\]", "wrong"),
    ("\\[ \\int_0^1 x \\, dx = \\frac{1}{2} \\]", "right"),
    ("\\[ \\sum_{k=1}^{n} k = \\frac{n(n+1)}{2} \\]", "right"),
    ("\\[ \\sum_{k=1}^{n} k = \\frac{n(n-1)}{2} \\]", "wrong"),
    ("\\begin{align*}\n\\sqrt{x^2} &= \\sqrt{x \\cdot x} \\\\\n&= x\n\\end{align*}", "wrong"),
    ("\\[ \\frac{x^2 - 1}{x - 1} = x + 1 \\]", "right"),
    ("\\begin{align*}\nx^2 - 4 &= 0 \\\\\nx &= 2\n\\end{align*}", "wrong"),  # loses the root -2
    ("\\begin{align*}\nx^2 - 4 &= 0 \\\\\nx^2 &= 4\n\\end{align*}", "right"),
    ("\\[ a = b = c \\]", "none"),
    ("\\begin{align*}\nA &= \\pi r^2 \\\\\n&= 9\\pi\n\\end{align*}", "none"),  # r = 3 substituted
    ("\\[ \\sin^2\\theta + \\cos^2\\theta = 1 \\]", "right"),
    ("\\[ e^{a+b} = e^a e^b \\]", "right"),
    ("\\begin{align*}\n\\log(ab) &= \\log(ba) \\\\\n&= \\log a \\cdot \\log b\n\\end{align*}", "wrong"),
]


def _naive(lhs: str, rhs: str) -> bool:
    from math_verify import parse, verify

    return bool(verify(parse(f"${lhs}$"), parse(f"${rhs}$")))


def steps(timeout: float = 5.0) -> None:
    import functools

    from checker import check_document
    from mathcore.steps import extract_claims

    counts = {name: {"caught": 0, "missed": 0, "false alarms": 0} for name in ("Math-Verify naive", "mathassist")}
    wrong_total = sum(truth == "wrong" for _, truth in STEP_TABLE)
    disagreements: list[tuple[str, str, bool, bool]] = []
    for doc, truth in STEP_TABLE:
        claim = extract_claims(doc, "latex")[-1]
        theirs, _ = _timed(functools.partial(_naive, claim.lhs, claim.rhs), timeout)
        ours = [r for r in check_document(doc, "latex") if r.line == claim.line]
        ours_wrong = bool(ours) and ours[-1].verdict == "wrong"
        if (theirs is False) != (truth == "wrong") or ours_wrong != (truth == "wrong"):
            disagreements.append((claim.text, truth, theirs is False, ours_wrong))
        for name, says_wrong in (("Math-Verify naive", theirs is False), ("mathassist", ours_wrong)):
            if truth == "wrong":
                counts[name]["caught" if says_wrong else "missed"] += 1
            elif says_wrong:
                counts[name]["false alarms"] += 1
    print(f"\n## steps: {len(STEP_TABLE)} derivation steps, {wrong_total} wrong; the rest right, or equations and definitions\n")
    print("| | wrong steps caught | missed | false alarms |\n|---|---|---|---|")
    for name, c in counts.items():
        print(f"| {name} | {c['caught']}/{wrong_total} | {c['missed']} | {c['false alarms']} |")
    if disagreements:
        print("\n| step | truth | Math-Verify naive says wrong | mathassist says wrong |\n|---|---|---|---|")
        for step, truth, theirs_wrong, ours_wrong in disagreements:
            print(f"| `{step}` | {truth} | {theirs_wrong} | {ours_wrong} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ", ".join(PARTS))
    parser.add_argument("--count", type=int, default=100, help="unfinished derivations for the inline part (default 100)")
    args = parser.parse_args()
    parts = args.only.split(",")
    pairs: list[tuple[Case, str | None]] = []
    if "inline" in parts:
        pairs = inline(args.count)
    if "latency" in parts:
        if not pairs:
            pairs = [(c, "x + 1") for c in cases(args.count)]  # no model: one made-up step a derivation
        latency(pairs)
    if "document" in parts:
        document()
    if "answers" in parts:
        answers()
    if "steps" in parts:
        steps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
