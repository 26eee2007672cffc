"""The derivation checker: decides, with sympy, whether each step of a derivation follows.

`mathcore.steps` finds the claims (pure text work); this package reads their LaTeX with
latex2sympy2_extended and decides each in a worker process that is killed at a time limit
(default 2 s a step), so `10^{10^{10}}` costs at most that. A `Checker` owns the workers, its
bounded caches and its frozen configuration (`CheckerConfig`, `ReadConfig`); `shared()` is the
process's default one, used by the module-level functions. Verdicts (`Verdict`):

- `verified`: sympy simplifies the difference to zero, or both sides agree at many points,
  negative, fractional and complex among them (an equation step: every solution of the previous
  equation solves this one);
- `wrong`: only with a counterexample, values of the variables where both sides are defined, the
  document's assumptions hold and the sides differ, read as the author meant them;
- `approximate`: a value rounded to the digits written (`\\frac{20}{3} = 6.67`): information;
- `unknown`: could not read it for sure, or undecided in time. What is ambiguous stays unknown.

    CheckerError   the worker processes could not start
"""

from __future__ import annotations

from checker._cache import checker_version, default_cache_dir
from checker._check import answers_equal, check_claims, check_document, check_suggestion, check_suggestions, shared, shutdown, start
from checker._checker import Checker, verdict_of
from checker._config import CheckerConfig, ReadConfig
from checker._types import CheckerError, Decision, Result, Verdict

__all__ = ["Checker", "CheckerConfig", "CheckerError", "Decision", "ReadConfig", "Result", "Verdict", "answers_equal", "check_claims",
           "check_document", "check_suggestion", "check_suggestions", "checker_version", "default_cache_dir", "shared", "shutdown", "start",
           "verdict_of"]
