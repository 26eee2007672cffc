"""Imported last by the checker's fork server: reads and decides a few typical steps once, so every
worker forked from it starts with the parser's prediction tables (ANTLR builds them lazily, on the
first input of each shape) and sympy's caches already filled: a suggestion's first check then takes
milliseconds, not the hundreds the first parse of `(x+1)(x+1)` would."""

from __future__ import annotations

import contextlib

from checker._answers import equal
from checker._decide import decide
from mathcore.steps import extract_claims

_SAMPLES = r"""
\begin{align*}
(x+1)(x+1) &= x^2 + 2x + 1 \\ &= \frac{x^3 + x^2}{x} + x + 1 \\ &= \sqrt{x^2} \cdot 2^{3} - \sin^2 x + \cos x \\
2x + 3 &= 7 \\ 2x &= 4 \\ \frac{d}{dx} x^3 &= 3x^2 \le \int_0^1 t \, dt + \sum_{k=1}^{n} k - \log(y) e^{-y}
\end{align*}
"""

with contextlib.suppress(Exception):  # warming is an optimisation: a failure here only costs time later
    for _claim in extract_claims(_SAMPLES, "latex"):
        decide(_claim)
    equal("\\frac{1}{2}", "0.5")
