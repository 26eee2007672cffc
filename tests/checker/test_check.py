"""`mathassist check` on a corpus of derivations as people write them: every verdict as expected,
silence where a row makes no claim, and the exit codes a CI or pre-commit hook relies on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # each runs the CLI, whose checker starts worker processes: not the unit tier

CORPUS = Path(__file__).parent / "corpus"
NOTES_EXPECTED = {(6, "verified"), (7, "verified"), (18, "wrong")}


def check(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`mathassist check` with a cache folder of the test's own (none: no cache file at all)."""
    env = {**os.environ, "MATHASSIST_CACHE_DIR": str(cache)} if cache else os.environ
    return subprocess.run([sys.executable, "-m", "mathassist", "check", *args, *([] if cache else ["--no-cache"])], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


def expected_verdicts(path: Path) -> set[tuple[int, str]]:
    """(line, verdict) from the `% expect: verdict` comments of a LaTeX file."""
    out = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        m = re.search(r"% expect: (\w+)", line)
        if m:
            out.add((number, m.group(1)))
    return out


def test_every_step_of_the_corpus_gets_its_verdict_and_nothing_else_speaks() -> None:
    r = check("--json", "--timeout", "20", str(CORPUS / "steps.tex"), str(CORPUS / "notes.md"))  # verdicts, not speed
    assert r.returncode == 1, r.stderr  # the corpus has wrong steps
    results = json.loads(r.stdout)
    tex = {(x["line"], x["verdict"]) for x in results if x["file"].endswith("steps.tex")}
    md = {(x["line"], x["verdict"]) for x in results if x["file"].endswith("notes.md")}
    assert tex == expected_verdicts(CORPUS / "steps.tex")
    assert md == NOTES_EXPECTED
    for x in results:
        assert set(x) >= {"file", "line", "column", "verdict", "message"}
        assert ("counterexample" in x) == (x["verdict"] == "wrong"), x
    wrong = next(x for x in results if x["line"] == 10 and x["file"].endswith("steps.tex"))
    assert wrong["message"].startswith("at x = ") and "the left side is" in wrong["message"]


def test_human_output_is_compiler_style_and_a_clean_file_exits_0(tmp_path: Path) -> None:
    r = check("--timeout", "20", str(CORPUS / "steps.tex"))
    assert r.returncode == 1
    first = r.stdout.splitlines()[0]
    assert re.match(r".*steps\.tex:10:1: wrong step: x\^2 - 4x \+ 4 = x\^2 - 4x \+ 2: at x = .* the left side is", first), first
    assert "verified" in r.stderr and "wrong" in r.stderr
    clean = tmp_path / "clean.tex"
    clean.write_text("\\begin{align*}\n(x+1)^2 &= x^2 + 2x + 1 \\\\\n&= x^2 + 2x + 1\n\\end{align*}\n")
    ok = check(str(clean))
    assert ok.returncode == 0 and ok.stdout == "" and "2 verified" in ok.stderr
    missing = check(str(tmp_path / "nope.tex"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_a_huge_power_costs_at_most_the_time_limit() -> None:
    doc = "\\[ 10^{10^{10}} = 10^{10^{10}} + 1 \\]\n"
    r = subprocess.run([sys.executable, "-c", "import sys, time\nfrom checker import check_document, start\n"
                        "start()\n"  # the workers' start (seconds on a busy machine) is not what is measured
                        "t = time.monotonic()\n"
                        f"r = check_document({doc!r}, 'latex', timeout=1.0)\nprint(r[0].verdict, round(time.monotonic() - t, 1))"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    verdict, seconds = r.stdout.split()
    assert verdict == "unknown" and float(seconds) < 10, r.stdout + r.stderr


def test_answer_equality_is_bounded_in_time_and_never_guesses_equal() -> None:
    code = ("import time\nfrom checker import answers_equal\nfrom mathcore.voting import majority_vote\n"
            "answers_equal('1', '2')\n"  # starts the workers (seconds on a cold machine): not what is measured
            "t = time.monotonic()\n"
            "huge = answers_equal('10^{10^{10}}', '10^{10^{10}} + 1', timeout=1.0)\n"
            "fact = answers_equal('1000000!', '1', timeout=1.0)\n"
            "same = answers_equal('\\\\frac{2}{4}', '\\\\frac{1}{2}')\n"
            "votes = majority_vote(['$\\\\boxed{10^{10^{10}}}$', '$\\\\boxed{10^{10^{10}} + 1}$', '$\\\\boxed{3}$', '$\\\\boxed{3}$'],"
            " lambda a, b: answers_equal(a, b, timeout=1.0))\n"
            "print(huge, fact, same, votes[0].answer, votes[0].count, round(time.monotonic() - t, 1))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    huge, fact, same, winner, count, seconds = r.stdout.split()
    assert (huge, fact, same, winner, count) == ("False", "False", "True", "3", "2"), r.stdout + r.stderr
    assert float(seconds) < 15  # two 1 s limits, their workers' restarts, and the rest
