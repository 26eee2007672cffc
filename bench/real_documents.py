"""The derivation checker on mathematics as people write it (issue: no false alarms on real documents).

Parts, each printed as a table:

- `corpus`: `mathassist check --format json` over the corpus of real lecture notes, problem sets
  and textbooks in `tests/checker/real/` (sources and licences in its README), cold (a new cache
  folder) and warm (the same folder, nothing changed): steps, verified, unknown, wrong, approximate,
  false alarms per 1,000 steps and real errors found, judged against the hand audit in
  `tests/checker/real/expected.json`;
- `naive`: Math-Verify 0.9 used naively per step on the same steps (`verify(parse(lhs),
  parse(rhs))`, each in a worker killed at 5 s), judged against the same audit: a step it does not
  verify is a "wrong" of its;
- `reasoneval`: ReasonEval's labelled steps (`bench.reasoneval`): precision of `wrong` against the
  labels, and recall on the steps whose arithmetic is false.

    python -m bench.real_documents [--only corpus,naive,reasoneval] [--reasoneval DIR] [--jobs N]

`--reasoneval DIR` reads a checkout's `dataset/` folder (all 5,293 labelled steps); without it the
sample in `tests/checker/reasoneval/` is used. `naive` needs `pip install math-verify==0.9.0`
(`make bench` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "checker" / "real"
PARTS = ("corpus", "naive", "reasoneval")


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".tex", ".md") and p.name != "README.md")


def expected() -> dict[tuple[str, int, str], str]:
    """The audited wrong steps: (file relative to the corpus, line, step) -> what is wrong there."""
    rows = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return {(r["file"], r["line"], r["step"]): r["audit"] for r in rows}


def _check(files: list[Path], cache: Path, jobs: int | None) -> tuple[list[dict[str, Any]], float]:
    env = {**os.environ, "MATHASSIST_CACHE_DIR": str(cache)}
    args = [sys.executable, "-m", "mathassist", "check", "--format", "json", *(["--jobs", str(jobs)] if jobs else []), *map(str, files)]
    t = time.perf_counter()
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise SystemExit(f"mathassist check failed: {r.stderr}")
    return json.loads(r.stdout), seconds


def corpus(jobs: int | None) -> list[dict[str, Any]]:
    files = corpus_files()
    with tempfile.TemporaryDirectory() as tmp:
        results, cold = _check(files, Path(tmp), jobs)
        again, warm = _check(files, Path(tmp), jobs)
    assert again == results, "a warm run must give the same verdicts"
    audit = expected()
    counts = Counter(r["verdict"] for r in results)
    wrong = [(str(Path(r["file"]).relative_to(CORPUS)), r["line"], r["step"]) for r in results if r["verdict"] == "wrong"]
    real = [w for w in wrong if w in audit]
    alarms = [w for w in wrong if w not in audit]
    steps = len(results)
    print(f"\n## real documents: {len(files)} files from {len({f.relative_to(CORPUS).parts[0] for f in files})} repositories "
          f"(`tests/checker/real/`), {jobs or os.cpu_count()} workers\n")
    print("| steps | verified | unknown | wrong | approximate | false alarms | per 1,000 steps | real errors found |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {steps} | {counts['verified']} | {counts['unknown']} | {counts['wrong']} | {counts['approximate']} | {len(alarms)} | "
          f"{1000 * len(alarms) / max(steps, 1):.2f} | {len(real)} of {len(audit)} audited |")
    print(f"\n| `mathassist check` over the corpus | seconds |\n|---|---|\n| cold (new cache folder) | {cold:.1f} |\n"
          f"| warm (unchanged, same cache folder) | {warm:.2f} |")
    for w in alarms:
        print(f"- new wrong (not in the audit): {w}")
    return results


def _naive(lhs: str, rhs: str) -> bool:
    from math_verify import parse, verify

    return bool(verify(parse(f"${lhs}$"), parse(f"${rhs}$"), timeout_seconds=None))


def naive(jobs: int | None) -> None:
    """Math-Verify per step: the claims `mathassist check` finds, each compared side by side."""
    import concurrent.futures

    from pebble import ProcessPool

    from mathcore.languages import language_of
    from mathcore.steps import extract_claims

    audit = expected()
    claims = [(str(p.relative_to(CORPUS)), c) for p in corpus_files() for c in extract_claims(p.read_text(encoding="utf-8"),
                                                                                                 language_of(str(p)))]
    t = time.perf_counter()
    says: list[bool | None] = []
    with ProcessPool(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = [pool.schedule(_naive, args=[c.lhs, c.rhs], timeout=5) for _, c in claims]
        for f in futures:
            try:
                says.append(f.result())
            except (concurrent.futures.TimeoutError, Exception):
                says.append(None)
    seconds = time.perf_counter() - t
    refuted = [(f, c.line, c.text) for (f, c), ok in zip(claims, says, strict=True) if ok is False]
    real = [r for r in refuted if r in audit]
    print(f"\n## Math-Verify 0.9 used naively per step, on the same {len(claims)} steps\n")
    print("| | not verified (its \"wrong\") | of them real errors | false alarms | per 1,000 steps | undecided in 5 s | seconds |")
    print("|---|---|---|---|---|---|---|")
    print(f"| Math-Verify naive | {len(refuted)} | {len(real)} | {len(refuted) - len(real)} | "
          f"{1000 * (len(refuted) - len(real)) / max(len(claims), 1):.1f} | {says.count(None)} | {seconds:.0f} |")


def reasoneval(dataset: Path | None, jobs: int | None) -> None:
    from bench.reasoneval import Step, load, steps_of
    from checker import Checker, CheckerConfig, Verdict
    from mathcore.steps import extract_claims

    steps: list[Step] = steps_of(dataset) if dataset else load()
    per = [extract_claims(s.text, "markdown", inline=True) for s in steps]
    t = time.perf_counter()
    with Checker(CheckerConfig(workers=jobs or os.cpu_count() or 1, cache_size=1 << 20)) as checker:
        decisions = iter(checker.decisions([c for cs in per for c in cs]))
        verdicts = []
        for cs in per:
            mine = [d for d in (next(decisions) for _ in cs) if d is not None]
            verdicts.append(Verdict.WRONG if any(d.verdict == Verdict.WRONG for d in mine) else None)
    seconds = time.perf_counter() - t
    wrong = [(s, v) for s, v in zip(steps, verdicts, strict=True) if v == Verdict.WRONG]
    right = sum(s.label == "error" for s, _ in wrong)
    false_arith = [i for i, s in enumerate(steps) if s.false_arithmetic]
    caught = sum(verdicts[i] == Verdict.WRONG for i in false_arith)
    errors = sum(s.label == "error" for s in steps)
    print(f"\n## ReasonEval labelled steps ({'all of dataset/' if dataset else 'the committed sample'}): {len(steps)} steps, "
          f"{errors} labelled wrong, {len(false_arith)} of them with false arithmetic; {seconds:.0f} s\n")
    print("| `wrong` verdicts | on steps labelled wrong | precision | false arithmetic caught (recall) | wrong steps caught |")
    print("|---|---|---|---|---|")
    print(f"| {len(wrong)} | {right} | {100 * right / max(len(wrong), 1):.1f}% | {caught}/{len(false_arith)} "
          f"({100 * caught / max(len(false_arith), 1):.0f}%) | {right}/{errors} |")
    for s, _ in wrong:
        if s.label != "error":
            print(f"- wrong on a step labelled correct: {s.source} {s.item} step {s.index}: {s.text[:160]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ", ".join(PARTS))
    parser.add_argument("--reasoneval", type=Path, default=None, metavar="DIR", help="ReasonEval's dataset/ folder")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    args = parser.parse_args()
    parts = args.only.split(",")
    if "corpus" in parts:
        corpus(args.jobs)
    if "naive" in parts:
        naive(args.jobs)
    if "reasoneval" in parts:
        reasoneval(args.reasoneval, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
