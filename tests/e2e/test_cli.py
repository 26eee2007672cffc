"""`mathassist solve` (the `make run` path) and the embedded model's evaluation, end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, RunningServer
from tests.scripted_server import scripted_server

LINEAR = "Solve for $x$: $3x + 5 = 20$."


def run(server: RunningServer, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)}
    env.pop("MATHASSIST_URL", None)
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_solve_prints_a_correct_step_by_step_solution(server: RunningServer) -> None:
    r = run(server, "-m", "mathassist", "solve", LINEAR)
    assert r.returncode == 0, r.stderr
    assert "Subtract $5$ from both sides" in r.stdout and "\\boxed{5}" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("answer: 5")


def test_solve_json_has_answer_text_model_samples(server: RunningServer) -> None:
    r = run(server, "-m", "mathassist", "solve", "Compute $347 + 589$.", "--json", "--samples", "3", "--temperature", "0.5", "--seed", "2")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == "embedded" and len(out["samples"]) == 3
    assert out["answer"] == "936" and "\\boxed{936}" in out["text"]
    assert sum(v["count"] for v in out["votes"]) <= 3 and out["params"]["seed"] == 2


def test_bad_flag_names_it(server: RunningServer) -> None:
    r = run(server, "-m", "mathassist", "solve", LINEAR, "--top-p", "0")
    assert r.returncode == 2 and "--top-p must be in (0, 1]" in r.stderr


def rows_of(report: str) -> dict[str, tuple[int, int]]:
    """`training.evaluate`'s table: row name -> (right, asked)."""
    rows = {}
    for line in report.splitlines():
        if (m := re.match(r"(\w[\w >=]*?)\s+(\d+)/(\d+)\s", line)):
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return rows


@pytest.mark.timeout(900)
def test_embedded_model_beats_the_accuracy_floor(server: RunningServer) -> None:
    """Held-out phrasings, a few of each kind: a random-weight model scores 0 on every row; the
    shipped second edition clears these floors (its full figures are in README)."""
    r = run(server, "-m", "training.evaluate", "--per-family", "4", "--tools", "4", "--declines", "6", "--align", "12",
            "--proofs", "4", "--min-accuracy", "0.6", timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = rows_of(r.stdout)
    assert rows["own variable"][0] == rows["own variable"][1] > 0, r.stdout
    assert rows["tools multi"][0] >= 3 and rows["answered"][0] >= 34, r.stdout
    assert rows["declined"][0] >= 3 and rows["proof declined"][0] >= 3, r.stdout
    # verified next rows: fewer where a loaded machine makes the checker say unknown (5 of 12 seen)
    assert rows["align next"][0] >= 4 and rows["proof >= 2"][0] >= 3, r.stdout


@pytest.mark.parametrize(("problem", "answer"), [("Compute $347 + 589$.", "936"), ("Solve for $x$: $2x + 3 = 7$.", "2")])
def test_readme_examples_are_answered_right(server: RunningServer, problem: str, answer: str) -> None:
    r = run(server, "-m", "mathassist", "solve", problem)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().splitlines()[-1] == f"answer: {answer}   [embedded]"


def test_tools_write_a_program_that_runs_in_the_sandbox_and_gives_the_answer(server: RunningServer) -> None:
    r = run(server, "-m", "mathassist", "solve", "--tools", "--json", "Compute $3 \\cdot 14 + 5$.")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    [program] = out["tool_runs"]
    assert "print(" in program["code"] and (program["output"], program["error"]) == ("47\n", None)
    assert "```output\n47\n```" in out["text"] and out["answer"] == "47"


def test_a_problem_beyond_the_demo_model_is_declined_with_what_to_run_instead(server: RunningServer) -> None:
    problem = "Compute $\\int_0^1 x^2\\,dx$."
    out = json.loads(run(server, "-m", "mathassist", "solve", "--json", problem).stdout)
    assert out["answer"] is None and "\\boxed" not in out["text"]
    assert out["declined"] and "DeepSeekMath" in out["declined"]
    last = run(server, "-m", "mathassist", "solve", problem).stdout.rstrip().splitlines()[-1]
    assert last.startswith("declined: the demo model cannot solve this kind of problem") and "DeepSeekMath on a GPU" in last


def test_status_shows_model_and_requests_as_a_person_reads_them(server: RunningServer) -> None:
    r = run(server, "-m", "mathassist", "status")
    assert r.returncode == 0 and "embedded" in r.stdout and "running" in r.stdout
    assert "None" not in r.stdout and "{" not in r.stdout and "uptime " in r.stdout and " MiB" in r.stdout


def test_short_flags_and_an_empty_problem(server: RunningServer) -> None:
    r = run(server, "-m", "mathassist", "solve", LINEAR, "-t", "0", "-n", "400", "-s", "1", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["params"]["max_new_tokens"] == 400
    empty = run(server, "-m", "mathassist", "solve", "   ")
    assert empty.returncode == 2 and "the problem is empty" in empty.stderr and not empty.stdout


def test_another_model_than_the_running_one_is_not_answered_silently(server: RunningServer) -> None:
    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir), "MATHASSIST_MODEL": "deepseek-ai/deepseek-math-7b-rl"}
    env.pop("MATHASSIST_URL", None)
    r = subprocess.run([sys.executable, "-m", "mathassist", "solve", LINEAR], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and not r.stdout
    assert "serves embedded, not deepseek-ai/deepseek-math-7b-rl (MATHASSIST_MODEL)" in r.stderr
    assert "mathassist stop" in r.stderr and r.stderr.count("\n") == 1


def test_version_is_the_package_version() -> None:
    from importlib.metadata import version

    r = subprocess.run([sys.executable, "-m", "mathassist", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"mathassist {version('mathassist')}"


def test_sandbox_command_runs_stdin_and_describes_itself() -> None:
    r = subprocess.run([sys.executable, "-m", "mathassist", "sandbox", "--json"], input="import sympy\nprint(sympy.isprime(97))",
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["stdout"] == "True\n" and out["error"] is None and out["timed_out"] is False
    bad = subprocess.run([sys.executable, "-m", "mathassist", "sandbox", "--time-limit", "1"], input="while True: pass",
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("TimeoutError")
    info = json.loads(subprocess.run([sys.executable, "-m", "mathassist", "sandbox", "--info"], cwd=ROOT, capture_output=True,
                                     text=True, timeout=60).stdout)
    assert info["works"] and set(info) >= {"rlimits", "landlock", "seccomp", "limits", "environment"}


def test_solve_with_tools_against_an_external_openai_compatible_server() -> None:
    replies = ["```python\nfrom sympy import factorial\nprint(factorial(6))\n```\n", " So $6! = \\boxed{720}$."]
    with scripted_server(replies) as (url, prompts):
        env = {**os.environ, "MATHASSIST_URL": url}
        r = subprocess.run([sys.executable, "-m", "mathassist", "solve", "--tools", "--json", "Compute $6!$."], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] == "720" and out["model"] == "deepseek-ai/deepseek-math-7b-rl"
    assert [(t["output"], t["error"]) for t in out["tool_runs"]] == [("720\n", None)]
    assert prompts[1].endswith("```output\n720\n```\n")


def test_solve_marks_a_refuted_step_as_it_streams_and_flags_the_answer() -> None:
    solution = (" We add first: $17 + 25 = 42$.\nThen we multiply: $42 \\cdot 3 = 136$.\nSo the answer is $\\boxed{136}$.")
    with scripted_server([solution, solution]) as (url, _):
        env = {**os.environ, "MATHASSIST_URL": url}
        r = subprocess.run([sys.executable, "-m", "mathassist", "solve", "Compute $(17 + 25) \\cdot 3$."], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        j = subprocess.run([sys.executable, "-m", "mathassist", "solve", "--json", "Compute $(17 + 25) \\cdot 3$."], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    mark = lines.index("  ⚠ refuted: 42 \\cdot 3 = 136: the left side is 126 and the right side is 136")
    # under its line once the checker has answered (the workers start with the stream), and once
    assert lines.index("Then we multiply: $42 \\cdot 3 = 136$.") < mark < len(lines) - 2
    assert r.stdout.count("⚠ refuted") == 1
    assert lines[-2].startswith("answer: 136") and lines[-1].startswith("⚠ this solution has 1 refuted step")
    out = json.loads(j.stdout)
    assert out["refuted"] is True
    assert [(c["step"], c["verdict"]) for c in out["checks"]] == [("17 + 25 = 42", "verified"), ("42 \\cdot 3 = 136", "wrong")]
