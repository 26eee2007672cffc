"""ReasonEval's labelled steps (GAIR-NLP/ReasonEval, `dataset/`), converted for the derivation checker.

Two sources, each step labelled by people or by construction:

- `mr-math_invalid_errors.json` (Meta-Reasoning-MATH): model solutions of MATH problems, annotated
  with the first wrong step. Steps before it (and every step of a solution marked correct) are
  `correct`; the first wrong step is `error`; later steps are unlabelled and left out.
- `perturbation.json`: PRM800K solutions with one step changed on purpose. The reference steps are
  `correct`; the changed step of a `random number` or `random operation` perturbation is `error`
  (the other perturbations move, drop or repeat whole steps: no step of theirs is wrong in itself).

A step's text is prose with inline `$...$` mathematics, checked as the product checks a model's
solution (`inline=True`). "Arithmetic is false" is decided without the checker, by `arithmetic`
below: an equation between numbers only (+, -, ×, ÷, powers, fractions, decimals) in the step that
exact rational arithmetic refutes.

    python -m bench.reasoneval --convert DIR [--out FILE] [--sample N]

writes the converted steps (one JSON object a line) from a checkout's `dataset/` folder; the
sample kept as test data is `tests/checker/reasoneval/sample.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["Step", "arithmetic", "load", "steps_of"]

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "checker" / "reasoneval" / "sample.jsonl"


@dataclass(frozen=True)
class Step:
    """One labelled step: its text (prose and `$...$`), `correct` or `error`, and whether exact
    arithmetic refutes an equation between numbers in it."""

    source: str
    item: int
    index: int
    text: str
    label: str
    false_arithmetic: bool


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def steps_of(dataset: Path) -> list[Step]:
    """Every labelled step of the two files in `dataset`."""
    out: list[Step] = []
    for item in _jsonl(dataset / "mr-math_invalid_errors.json"):
        steps = [" ".join(s) if isinstance(s, list) else str(s) for s in item["model_output_step_format"]]  # type: ignore[union-attr]
        first = item["model_output_solution_first_error_step"]
        wrong = int(first) - 1 if str(first).isdigit() else None  # 1-based in the data
        for i, text in enumerate(steps):
            if wrong is not None and i > wrong:
                break
            label = "error" if i == wrong else "correct"
            out.append(Step("mr-math", int(item["id"]), i, text, label, label == "error" and arithmetic(text)))  # type: ignore[call-overload]
    for item in _jsonl(dataset / "perturbation.json"):
        kind = item["error_type"]
        if kind not in ("random number", "random operation"):
            continue
        k = int(item["tags"])  # type: ignore[call-overload]
        for i, text in enumerate(item["reference_steps"]):  # type: ignore[arg-type]
            out.append(Step("perturbation", int(item["id"]), i, str(text), "correct", False))  # type: ignore[call-overload]
        changed = str(item["hypothesis_steps"][k])  # type: ignore[index]
        if changed != str(item["reference_steps"][k]):  # type: ignore[index]
            out.append(Step("perturbation", int(item["id"]), k, changed, "error", arithmetic(changed)))  # type: ignore[call-overload]
    return out


def load(path: Path = SAMPLE) -> list[Step]:
    """Converted steps from a JSON-lines file (the committed sample by default)."""
    return [Step(**row) for row in _jsonl(path)]  # type: ignore[arg-type]


# -- exact arithmetic, independent of the checker ---------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(\\frac)|(\\cdot|\\times|\*)|(\\div|/)|([-+^(){}]))")


def _value(text: str) -> Fraction | None:
    """The exact value of an expression of numbers only, or None if it is anything else."""
    text = re.sub(r"\\(left|right|!|,|;)|\\dfrac|\\tfrac", lambda m: "\\frac" if "frac" in m.group(0) else "", text)
    text = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", text).replace("\\$", "").replace("$", "")
    tokens: list[str] = []
    pos = 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m:
            return None
        tokens.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    try:
        value, rest = _sum(tokens)
    except (IndexError, ValueError, ZeroDivisionError):
        return None
    return value if not rest else None


def _sum(t: list[str]) -> tuple[Fraction, list[str]]:
    value, t = _product(t)
    while t and t[0] in "+-":
        op, (right, t) = t[0], _product(t[1:])
        value = value + right if op == "+" else value - right
    return value, t


def _product(t: list[str]) -> tuple[Fraction, list[str]]:
    value, t = _power(t)
    while t and (t[0] in ("\\cdot", "\\times", "*", "/", "\\div") or t[0] in ("(", "\\frac") or t[0][0].isdigit()):
        if t[0] in ("/", "\\div"):
            right, t = _power(t[1:])
            value /= right
        elif t[0] in ("\\cdot", "\\times", "*"):
            right, t = _power(t[1:])
            value *= right
        else:  # `3(4)`: juxtaposition multiplies
            right, t = _power(t)
            value *= right
    return value, t


def _power(t: list[str]) -> tuple[Fraction, list[str]]:
    base, t = _atom(t)
    if t and t[0] == "^":
        exponent, t = _atom(t[1:])
        if exponent.denominator != 1 or abs(exponent) > 64:
            raise ValueError("not a small whole exponent")
        base = base ** int(exponent)
    return base, t


def _atom(t: list[str]) -> tuple[Fraction, list[str]]:
    head, t = t[0], t[1:]
    if head == "-":
        value, t = _power(t)
        return -value, t
    if head in ("(", "{"):
        value, t = _sum(t)
        if not t or t[0] != {"(": ")", "{": "}"}[head]:
            raise ValueError("unbalanced")
        return value, t[1:]
    if head == "\\frac":
        top, t = _atom(t)
        bottom, t = _atom(t)
        return top / bottom, t
    if head[0].isdigit():
        return Fraction(head), t
    raise ValueError(head)


def arithmetic(text: str) -> bool:
    """Whether an inline equation between numbers only in `text` is false in exact arithmetic
    (`$2 + 3 = 6$`, `$12 \\cdot 3 = 35 = 7 \\cdot 5$`); a rounded decimal (`= 0.33`) is not false."""
    for m in re.finditer(r"\$([^$]+)\$", text):
        parts = re.split(r"(?<![<>!\\])=(?!=)", m.group(1))
        values = [_value(p) for p in parts]
        for a, b, text_b in zip(values, values[1:], parts[1:], strict=False):
            if a is None or b is None or a == b:
                continue
            decimals = re.fullmatch(r"\s*-?\d*\.(\d+)\s*", text_b)
            if decimals and abs(a - b) <= Fraction(1, 2 * 10 ** len(decimals.group(1))):
                continue  # rounded to the digits written
            return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--convert", type=Path, required=True, metavar="DIR", help="ReasonEval's dataset/ folder")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: stdout)")
    parser.add_argument("--sample", type=int, default=0,
                        help="keep this many steps of each label (drawn with seed 2026) and every step with false arithmetic")
    args = parser.parse_args()
    steps = steps_of(args.convert)
    if args.sample:
        rng = random.Random(2026)
        keep = []
        for label in ("correct", "error"):
            pool = [s for s in steps if s.label == label and s.source == "perturbation"]  # PRM800K-derived (MIT)
            keep += rng.sample(pool, min(args.sample, len(pool)))
        keep += [s for s in steps if s.false_arithmetic and s.source == "perturbation"]  # every one: what recall is measured on
        steps = sorted(set(keep), key=lambda s: (s.source, s.item, s.index, s.label))
    lines = "".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in steps)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
