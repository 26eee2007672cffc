"""The checker on real documents (lecture notes, problem sets, textbooks: `tests/checker/real/`) and
on ReasonEval's labelled steps: no `wrong` verdict but the audited ones, and the real errors found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.real_documents import CORPUS, corpus_files, expected
from bench.reasoneval import load
from checker import Checker, CheckerConfig, Verdict
from mathcore.steps import extract_claims
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # the whole corpus through `mathassist check`: a minute or two on two cores


@pytest.mark.timeout(1800)  # a few minutes on two idle cores; a busy machine must not cut it short
def test_the_only_wrong_steps_in_the_corpus_are_the_audited_real_errors(tmp_path: Path) -> None:
    files = corpus_files()
    assert len(files) >= 25 and len({f.relative_to(CORPUS).parts[0] for f in files}) >= 6
    env = {**os.environ, "MATHASSIST_CACHE_DIR": str(tmp_path)}
    # a generous limit per step: what is undecided at 2 s on a busy machine must not hide a new wrong verdict
    r = subprocess.run([sys.executable, "-m", "mathassist", "check", "--format", "json", "--timeout", "10", *map(str, files)],
                       cwd=ROOT, capture_output=True, text=True, timeout=1500, env=env)
    audit = set(expected())
    assert r.returncode == (1 if audit else 0), r.stderr  # exit 1 exactly when a step is wrong
    results = json.loads(r.stdout)
    assert len(results) > 2000 and sum(x["verdict"] == "verified" for x in results) > 400
    wrong = {(str(Path(x["file"]).relative_to(CORPUS)), x["line"], x["step"]) for x in results if x["verdict"] == "wrong"}
    assert wrong - audit == set(), "new wrong verdicts: audit them (a false alarm is a bug)"
    assert audit - wrong == set(), "audited real errors no longer found"


def test_reasoneval_steps_labelled_correct_are_never_called_wrong_and_false_arithmetic_is_caught() -> None:
    steps = load()
    per = [extract_claims(s.text, "markdown", inline=True) for s in steps]
    with Checker(CheckerConfig(workers=os.cpu_count() or 1, timeout=10)) as checker:
        decisions = iter(checker.decisions([c for cs in per for c in cs]))
        per_step = [[next(decisions) for _ in cs] for cs in per]  # every claim's decision, in order
    wrong = [any(d is not None and d.verdict == Verdict.WRONG for d in ds) for ds in per_step]
    false_alarms = [s.text for s, w in zip(steps, wrong, strict=True) if w and s.label == "correct"]
    assert false_alarms == []
    caught = [w for s, w in zip(steps, wrong, strict=True) if s.false_arithmetic]
    assert len(caught) >= 30 and sum(caught) >= 0.9 * len(caught)
