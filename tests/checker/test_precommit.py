"""The pre-commit hook, run through pre-commit itself (`pre-commit try-repo` on this repository):
it checks the .tex and .md files of a commit, fails on a wrong step, and passes once it is fixed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # runs pre-commit, git and the checker's worker processes


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=repo, check=True, capture_output=True)


def test_the_hook_fails_a_commit_with_a_wrong_step_and_passes_it_when_fixed(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit, "pre-commit is a dev dependency (pip install -e '.[dev]')"
    repo = tmp_path / "notes"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "algebra.tex").write_text("\\begin{align*}\n(x+3)(x+5) &= x^2 + 5x + 3x + 15 \\\\\n&= x^2 + 8x + 16\n\\end{align*}\n")
    (repo / "notes.md").write_text("$$\n(x + 1)^2 = x^2 + 2x + 1\n$$\n")
    (repo / "script.py").write_text("x = 1 + 1 == 3\n")  # not a document: the hook never sees it
    _git(repo, "add", ".")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "MATHASSIST_CACHE_DIR": str(tmp_path / "cache")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([pre_commit, "try-repo", str(ROOT), "mathassist-check", "--all-files", "--verbose"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600)

    failed = run()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "algebra.tex:3:1: wrong step: x^2 + 5x + 3x + 15 = x^2 + 8x + 16" in failed.stdout
    assert "script.py" not in failed.stdout
    (repo / "algebra.tex").write_text("\\begin{align*}\n(x+3)(x+5) &= x^2 + 5x + 3x + 15 \\\\\n&= x^2 + 8x + 15\n\\end{align*}\n")
    _git(repo, "add", ".")
    passed = run()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "3 steps: 3 verified, 0 wrong" in passed.stdout
