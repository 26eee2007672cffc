"""LaTeX to sympy through latex2sympy2_extended, with what it gets wrong or cannot know fixed first.

Its pitfalls: symbols are lowercased unless told not to, `\\frac12` needs its
normaliser, `2\\frac{1}{2}` becomes a mixed number whatever the flag says, `{,}` is a decimal
comma or a thousands separator depending on who wrote it. A form we cannot read for sure raises
`Unreadable`, and the step is `unknown`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["Unreadable", "parse", "read"]


class Unreadable(ValueError):
    """The text is not mathematics we can read with certainty."""


@functools.cache
def _configs() -> tuple[Any, Any]:
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig
    from latex2sympy2_extended.math_normalization import NormalizationConfig

    conversion = ConversionConfig(interpret_as_mixed_fractions=False, interpret_simple_eq_as_assignment=False,
                                  interpret_contains_as_eq=False, lowercase_symbols=False)
    normalization = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=False, boxed="all",
                                        equations=False)
    return conversion, normalization


def _comma_number(m: re.Match[str], thousands: bool) -> str:
    """`0{,}5` and `2{,}75` are decimal commas, `1{,}000{,}000` thousands; `1{,}500` could be either,
    and is read as thousands only where the caller says so (a final answer)."""
    groups = m.group(0).split("{,}")
    if len(groups) > 2 and all(len(g) == 3 for g in groups[1:]):
        return "".join(groups)
    if len(groups) == 2 and (groups[0] == "0" or len(groups[1]) != 3):
        return ".".join(groups)
    if thousands and len(groups) == 2:
        return "".join(groups)
    raise Unreadable(f"{m.group(0)} could be a decimal comma or a thousands separator")


def _prepare(text: str, thousands: bool = False) -> str:
    text = re.sub(r"\\(left|right|big|Big|bigg|Bigg)\b", "", text)
    text = re.sub(r"\\boxed\{(.*)\}", r"\1", text)
    text = re.sub(r"\d+(?:\{,\}\d+)+", lambda m: _comma_number(m, thousands), text)
    if re.search(r"\d\s*\\frac|\\text\{|\\pm|\\mp|\\operatorname|\\mathrm\{[a-zA-Z]{2,}", text):
        raise Unreadable("mixed numbers, words, \\pm and named operators are not read")
    return text


def parse(text: str, evaluate: bool = True, thousands: bool = False) -> Any:
    """Whatever sympy object `text` denotes (an expression, a set, an interval...); raises Unreadable.

    With `evaluate=False` nothing is computed while reading, so `10^{10^{10}}` stays a small tree.
    With `thousands`, `1{,}500` is 1500 (as `1,500` is in an answer) instead of unreadable.
    """
    import sympy as sp
    from latex2sympy2_extended import latex2sympy

    prepared = _prepare(text, thousands)
    conversion, normalization = _configs()
    try:
        with sp.evaluate(evaluate):
            return latex2sympy(prepared, normalization_config=normalization, conversion_config=conversion)
    except Exception as exc:  # the parser raises bare Exceptions for what it cannot parse
        raise Unreadable(f"cannot read {text!r}: {str(exc).splitlines()[0]}") from None


def read(text: str) -> Any:
    """The sympy expression of `text`; raises Unreadable."""
    import sympy as sp

    expr = parse(text)
    if not isinstance(expr, sp.Expr):
        raise Unreadable(f"{text!r} is not an expression")
    for d in expr.atoms(sp.Derivative):
        if isinstance(d.expr, sp.Symbol) and all(v != d.expr for v, _ in d.variable_count):
            raise Unreadable(f"{text!r} differentiates {d.expr}, an unknown function of {d.variables[0]}")
    return expr
