"""The derivation checker: decides, with sympy, whether each step of a derivation follows.

`mathcore.steps` finds the claims (pure text work); this package reads their LaTeX with
latex2sympy2_extended and decides each in a worker process that is killed at a time limit
(default 2 s a step), so `10^{10^{10}}` costs at most that. Verdicts:

- `verified`: sympy simplifies the difference to zero, or both sides agree at many random
  points, negative, fractional and complex among them (an equation step: every solution of the
  previous equation solves this one);
- `wrong`: only with a counterexample, values of the variables where both sides are defined and
  differ (or a solution of the previous equation that this one lacks);
- `unknown`: could not read it, or undecided in time. What is ambiguous stays unknown.

Results are cached per normalised claim, so a re-check after an edit decides only what changed.

    CheckerError   the worker pool could not start
"""

from __future__ import annotations

from checker._check import Result, answers_equal, check_claims, check_document, check_suggestion, check_suggestions, shutdown, start, verdict_of

__all__ = ["Result", "answers_equal", "check_claims", "check_document", "check_suggestion", "check_suggestions", "shutdown", "start", "verdict_of"]
