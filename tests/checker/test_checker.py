"""A `Checker` owns its workers and caches: more distinct steps than its cache holds, verdicts kept
in a file across processes (and thrown away by a new checker version), answers cached apart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from checker import Checker, CheckerConfig, Verdict
from checker._cache import CacheFile
from mathcore.steps import extract_claims

pytestmark = pytest.mark.slow  # starts the checker's worker processes: not the unit tier


def _document(steps: int, wrong_every: int = 7) -> str:
    rows = [f"\\[ {k} + {k + 1} = {2 * k + 1 + (1 if k % wrong_every == 3 else 0)} \\]" for k in range(steps)]
    return "\n".join(rows) + "\n"


def test_more_distinct_steps_than_the_cache_holds_are_all_decided() -> None:
    # the module cache used to evict entries it was about to read back: a KeyError past 4,096 steps
    doc = _document(300)
    with Checker(CheckerConfig(cache_size=16, workers=2)) as checker:
        results = checker.check_document(doc, "latex")
        again = checker.check_document(doc, "latex")
    assert len(results) == 300 and results == again
    assert sum(r.verdict == Verdict.WRONG for r in results) == sum(1 for k in range(300) if k % 7 == 3)
    assert all(r.verdict == Verdict.VERIFIED for k, r in enumerate(results) if k % 7 != 3)


def test_a_cache_file_keeps_verdicts_across_checkers_and_a_new_version_starts_afresh(tmp_path: Path) -> None:
    doc = _document(40)
    claims = extract_claims(doc, "latex")
    path = tmp_path / "checker.sqlite"
    with Checker(CheckerConfig(cache_file=path, workers=2)) as first:
        cold = first.decisions(claims)
        assert first.decided == 40
    with Checker(CheckerConfig(cache_file=path, workers=2)) as second:
        assert second.decisions(claims) == cold
        assert second.decided == 0  # nothing decided again: no worker even started
        edited = extract_claims(doc.replace("5 + 6 = 11", "5 + 6 = 12"), "latex")
        decisions = second.decisions(edited)
        assert second.decided == 1 and decisions[5] is not None and decisions[5].verdict == Verdict.WRONG
    rows = sqlite3.connect(path).execute("SELECT DISTINCT version FROM verdicts").fetchall()
    assert len(rows) == 1
    CacheFile(path, version="another checker").close()  # opening with another version drops the old verdicts
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM verdicts").fetchone() == (0,)


def test_a_step_undecided_in_time_is_tried_again_with_a_longer_limit(tmp_path: Path) -> None:
    claims = extract_claims("\\[ \\int_0^1 e^{\\sin(x^3)} \\cos(x^7) dx = 1 \\]\n", "latex")  # sympy integrates for minutes
    path = tmp_path / "checker.sqlite"
    with Checker(CheckerConfig(cache_file=path, workers=1, timeout=0.5)) as checker:
        [first] = checker.decisions(claims)
        assert first is not None and first.verdict == Verdict.UNKNOWN and "undecided" in first.message
        checker.decisions(claims)
        assert checker.decided == 1  # the same limit: kept
    with Checker(CheckerConfig(cache_file=path, workers=1, timeout=1.0)) as longer:
        longer.decisions(claims)
        assert longer.decided == 1  # a longer limit may decide it: tried again


def test_answers_have_their_own_cache() -> None:
    with Checker(CheckerConfig(cache_size=4, workers=1)) as checker:
        assert checker.answers_equal("\\frac{2}{4}", "0.5")
        assert not checker.answers_equal("[2, 5)", "(2, 5)")
        results = checker.check_document(_document(20), "latex")
        assert len(results) == 20 and checker.answers_equal("\\frac{2}{4}", "0.5")
