"""LaTeX to sympy through latex2sympy2_extended, with what it gets wrong or cannot know fixed first.

Its pitfalls (found on the corpus of real documents too): symbols are lowercased unless told
not to, `\\frac12` needs its normaliser, `2\\frac{1}{2}` is a mixed number whatever the flag says,
and juxtaposed numbers are added: `3(3)` is 6, `(2)(3)` is 5, `2\\,598\\,960` is 1560, adjacent
`\\binom`s add. `\\gamma` is Euler's constant and `I` the imaginary unit there (`I_x` loses its
index); primes and transposes are dropped (`y'` is `y`, `R^T` is `R`); `\\int f\\,dx + \\int g\\,dx`
is one integral with a variable `dx`. Here numbers are multiplied explicitly, integrals are
bracketed by their differentials, `\\gamma` and `I` are plain names, and whatever is not plain
scalar mathematics (an unknown command, a vector, an operator, `O(\\cdot)`, `\\cdots`, a prime, a
unit) raises `Unreadable`, and the step is `unknown`.

`Reading` names the choices where people's notation is ambiguous (is `i` the imaginary unit? is
`\\log` natural? does `\\tan x(y)` apply to `x` alone?); the checker refutes a step only if it is
wrong under every reading.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["READINGS", "Reading", "Unreadable", "parse", "read"]


class Unreadable(ValueError):
    """The text is not mathematics we can read with certainty."""


@dataclass(frozen=True)
class Reading:
    """One way to read ambiguous notation."""

    imaginary_i: bool = False  # `i` is the imaginary unit (else a name)
    euler_e: bool = True  # a lone `e` is Euler's number (else a name)
    natural_log: bool = True  # `\\log x` is ln x (else log base 10)
    narrow_arguments: bool = False  # `\\tan x(y)` is tan(x)·y (else tan(x·y))
    star_product: bool = True  # `a * b` is a product (else an operator: a convolution, `z^*`)
    floor_division: bool = False  # `111 \\div 5 = 22` (with a remainder) and `42/5 = 8` (Legendre) are whole quotients


READINGS = (Reading(), Reading(imaginary_i=True), Reading(euler_e=False), Reading(natural_log=False), Reading(narrow_arguments=True),
            Reading(star_product=False), Reading(floor_division=True))

_GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota", "kappa", "lambda",
          "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Delta", "Theta", "Lambda", "Xi",
          "Pi", "Sigma", "Phi", "Psi", "Omega"]
_FUNCTIONS = ["sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "coth", "sech", "csch",
              "ln", "log", "exp"]
_KNOWN = {*_GREEK, *_FUNCTIONS, "frac", "dfrac", "tfrac", "cfrac", "sqrt", "cdot", "times", "div", "pi", "infty", "int", "sum", "prod",
          "lim", "to", "binom", "dbinom", "tbinom", "lvert", "rvert", "vert", "lfloor", "rfloor", "lceil", "rceil", "mathrm", "left",
          "right", "limits", "boxed"}
_UNITS = re.compile(r"(?<![\w\\])\d+(?:\.\d+)?\s*(?:mg|kg|g|km|cm|mm|nm|m|ml|mL|L|s|ms|min|h|hr|hrs|Hz|kHz|Pa|kPa|mol"
                    r"|N|J|kJ|W|kW|V|mV|A|mA)(?:\s*/\s*[a-zA-Z]+)?(?![\w{])")
_PLACEHOLDERS = {"I": "\\omicron", "\\gamma": "\\varsigma"}  # read as themselves, then renamed back


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


def _skip_group(text: str, i: int) -> int:
    """The index after one TeX argument starting at `i` (`{...}`, `\\cmd` or one character)."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return i
    if text[i] == "{":
        depth = 0
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return j + 1
        return len(text)
    if text[i] == "\\":
        m = re.match(r"\\[a-zA-Z]+", text[i:])
        return i + (len(m.group(0)) if m else 2)
    return i + 1


_DIFFERENTIAL = re.compile(r"(?<![a-zA-Z\\])d(?:[a-zA-Z]|\\[a-zA-Z]+)(?![a-zA-Z])")


def _bracket_integrals(text: str) -> str:
    """`\\int f\\,dx + \\int g\\,dx` as `(\\int f dx) + (\\int g dx)`: each integral ends at its differential."""
    for start in reversed([m.start() for m in re.finditer(r"\\int(?![a-zA-Z])", text)]):
        i = start + len("\\int")
        while True:  # limits
            rest = text[i:].lstrip()
            i = len(text) - len(rest)
            if rest.startswith("\\limits"):
                i += len("\\limits")
            elif rest[:1] in ("_", "^"):
                i = _skip_group(text, i + 1)
            else:
                break
        depth, j, end = 0, i, None
        while j < len(text):
            c = text[j]
            if c in "{(":
                depth += 1
            elif c in "})":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (m := _DIFFERENTIAL.match(text, j)) and (j == 0 or not text[j - 1].isalnum() or text[j - 1] == " "):
                end = m.end()
                break
            j += 1
        if end is None:
            head = re.match(r"\s*\\[dt]?frac\s*\{\s*d(?:[a-zA-Z]|\\[a-zA-Z]+)\s*\}", text[i:])
            if not head:
                raise Unreadable("an integral without its differential (dx) is not read")
            end = _skip_group(text, i + head.end())
        text = text[:start] + "(" + text[start:end] + ")" + text[end:]
    return text


def _narrow(text: str) -> str:
    """`\\tan^{2}x(y)` as `\\tan^{2}(x)(y)`: a function without brackets applies to one factor."""
    names = "|".join(_FUNCTIONS)
    return re.sub(rf"(\\(?:{names})(?![a-zA-Z])(?:\^(?:\{{[^{{}}]*\}}|\w))?)\s*([a-zA-Z0-9](?:_\w)?|\\[a-zA-Z]+)(?=\s*[\w(\\])",
                  r"\1(\2)", text)


def _prepare(text: str, thousands: bool, reading: Reading) -> str:
    text = re.sub(r"\\(left|right|[bB]igg?[lrm]?)(?![a-zA-Z])", "", text)
    text = re.sub(r"\\(displaystyle|textstyle|scriptstyle|limits|nolimits|hfill)(?![a-zA-Z])", "", text)
    text = re.sub(r"\\[hv]?phantom\{(?:[^{}]|\{[^{}]*\})*\}", "", text)
    text = re.sub(r"\\nicefrac(?![a-zA-Z])", r"\\frac", text)
    # `\frac134^3` is \frac{1}{3}4^3 in TeX (one token an argument), not 1/34 as the normaliser reads it
    text = re.sub(r"\\([dt]?frac)\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\\1{\2}{\3}", text)
    text = re.sub(r"\\abs\{((?:[^{}]|\{[^{}]*\})*)\}", r"\\lvert \1\\rvert ", text)
    text = re.sub(r"\\boxed\{(.*)\}", r"\1", text)
    text = re.sub(r"\\mathrm\{d\}", "d", text)
    text = re.sub(r"\d+(?:\{,\}\d+)+", lambda m: _comma_number(m, thousands), text)
    text = re.sub(r"(?<![\d.])\d{1,3}(?:(?:\\,|\\ |~|\{\\,\}|\s)\d{3})+(?![\d.])", lambda m: re.sub(r"\D", "", m.group(0)), text)
    if re.search(r"\d\s*\\frac|\\text\{|\\pm|\\mp|\\operatorname|\\mathrm\{[a-zA-Z]{2,}", text):
        raise Unreadable("mixed numbers, words, \\pm and named operators are not read")
    if re.search(r"(?<![_^\d])\d+\s+\d", text):
        raise Unreadable("numbers side by side are not read (a product? digits grouped?)")
    if "'" in text or re.search(r"\^\s*\{?\s*(?:T|\\top|\\intercal|\\mathsf\{T\})\s*\}?(?![a-zA-Z])", text):
        raise Unreadable("primes and transposes are not read")
    if re.search(r"\d\s*_\s*\{?\s*\d", text):
        raise Unreadable("a number with a subscript is written in a base (`1556_7`), not read here")
    if reading.floor_division:
        text = re.sub(r"(?<![\d.^_])(\d+)\s*(?:\\div|/)\s*(\d+)(?![\d.])", r"\\lfloor \\frac{\1}{\2} \\rfloor ", text)
    if not reading.star_product and "*" in text:
        raise Unreadable("* may be a convolution or another operator")
    if re.search(r"(?<![\\a-zA-Z])[A-Za-z]\s*\(\s*-?\s*\d+(?:\.\d+)?\s*\)", text):
        raise Unreadable("a letter applied to a number (`E(0)`) is a function's value, not read here")
    if re.search(r"(?<![a-zA-Z\\])[Oo]\s*\(", text) or _UNITS.search(text) or re.search(r"\[\s*[a-zA-Z]+\s*/\s*[a-zA-Z]+\s*\]", text):
        raise Unreadable("O(...), units and other notations that are not numbers are not read")
    unknown = {c for c in re.findall(r"\\([a-zA-Z]+)", text)} - _KNOWN
    if unknown or re.search(r"\\mathrm\{(?!d\})", text):
        raise Unreadable(f"\\{sorted(unknown)[0] if unknown else 'mathrm'} is not plain scalar mathematics (or not read here)")
    if re.search(r"\\(omicron|varsigma|varrho)(?![a-zA-Z])|(?<![a-zA-Z\\])[IE]_", text):
        raise Unreadable("an indexed I or E is not read")
    text = re.sub(r"(?<![a-zA-Z\\])I(?![a-zA-Z])", lambda _: _PLACEHOLDERS["I"] + " ", text)
    text = re.sub(r"\\gamma(?![a-zA-Z])", lambda _: _PLACEHOLDERS["\\gamma"] + " ", text)
    if reading.imaginary_i:
        text = re.sub(r"(?<![a-zA-Z\\])i(?![a-zA-Z_])", r"\\varrho ", text)
    if not reading.euler_e:
        text = re.sub(r"(?<![a-zA-Z\\])e(?![a-zA-Z])", r"\\epsilon ", text) if "\\epsilon" not in text else text
    text = re.sub(r"\\log(?![a-zA-Z_])", r"\\ln" if reading.natural_log else r"\\log_{10}", text)
    if reading.narrow_arguments:
        text = _narrow(text)
    # juxtaposed numbers are added by the reader: make every product explicit
    text = re.sub(r"(?<![\^_\d])(\d+(?:\.\d+)?)\s*(?=\(|e(?![a-zA-Z])|\\(?!cdot|times|div)[a-zA-Z])", r"\1\\cdot ", text)
    text = re.sub(r"\)\s*(?=[\d(])", r")\\cdot ", text)
    text = re.sub(r"\}\s*(?=\\[dt]?binom)", r"}\\cdot ", text)
    # a decimal is the rational it writes (`0.1 + 0.2 = 0.3` holds)
    text = re.sub(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])", lambda m: f"(\\frac{{{int(m.group(1) + m.group(2))}}}{{1{'0' * len(m.group(2))}}})", text)
    return _bracket_integrals(text) if "\\int" in text else text


def parse(text: str, evaluate: bool = True, thousands: bool = False, reading: Reading = READINGS[0]) -> Any:
    """Whatever sympy object `text` denotes (an expression, a set, an interval...); raises Unreadable.

    With `evaluate=False` nothing is computed while reading, so `10^{10^{10}}` stays a small tree.
    With `thousands`, `1{,}500` is 1500 (as `1,500` is in an answer) instead of unreadable.
    The parser costs tens of milliseconds a formula (most of a step's time): a worker reads each text
    once (a chain's right side is the next link's left side), and evaluates the unevaluated reading.
    """
    got = _tree(text, thousands, reading)
    if isinstance(got, Unreadable):
        raise got
    return _evaluated(got) if evaluate else got


def _evaluated(expr: Any) -> Any:
    """`expr` rebuilt with sympy's evaluation on, as the parser would have built it."""
    import sympy as sp

    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, sp.Atom):
        return expr
    with sp.evaluate(True):
        return expr.func(*(_evaluated(a) for a in expr.args))


@functools.lru_cache(maxsize=1024)
def _tree(text: str, thousands: bool, reading: Reading) -> Any:
    """The unevaluated reading of `text`, or the Unreadable that explains why there is none."""
    try:
        return _parse(text, thousands, reading)
    except Unreadable as exc:
        return exc


def _parse(text: str, thousands: bool, reading: Reading) -> Any:
    import sympy as sp
    from latex2sympy2_extended import latex2sympy

    evaluate = False
    prepared = _prepare(text, thousands, reading)
    conversion, normalization = _configs()
    try:
        with sp.evaluate(evaluate):
            expr = latex2sympy(prepared, normalization_config=normalization, conversion_config=conversion)
    except Exception as exc:  # the parser raises bare Exceptions for what it cannot parse
        raise Unreadable(f"cannot read {text!r}: {str(exc).splitlines()[0]}") from None
    if isinstance(expr, sp.Basic):
        names = {s: sp.I if s.name == "varrho" else sp.Symbol({"omicron": "I", "varsigma": "gamma", "epsilon": "e"}[s.name])
                 for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.name in ("omicron", "varsigma", "epsilon", "varrho")}
        if names:
            expr = expr.xreplace(names)
    return expr


def read(text: str, reading: Reading = READINGS[0]) -> Any:
    """The sympy expression of `text`; raises Unreadable."""
    import sympy as sp

    expr = parse(text, reading=reading)
    if not isinstance(expr, sp.Expr):
        raise Unreadable(f"{text!r} is not an expression")
    for d in expr.atoms(sp.Derivative):
        if isinstance(d.expr, sp.Symbol) and all(v != d.expr for v, _ in d.variable_count):
            raise Unreadable(f"{text!r} differentiates {d.expr}, an unknown function of {d.variables[0]}")
    if any(re.fullmatch(rf"d(?:[a-zA-Z]|{'|'.join(_GREEK)})", s.name) for s in expr.free_symbols if isinstance(s, sp.Symbol)):
        raise Unreadable(f"{text!r} has a differential outside an integral")
    if expr.has(sp.Order) or expr.has(sp.EulerGamma):
        raise Unreadable(f"{text!r} has O(...) or a constant read from a name")
    if text.count("\\int") != len(expr.atoms(sp.Integral)) and "\\int" in text:
        raise Unreadable(f"{text!r}: its integrals were not all read")
    return expr
