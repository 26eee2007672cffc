"""The checker's values: a verdict, the decision a worker sends back, the result a caller sees.

A `Verdict` is a `StrEnum`, so JSON, `mathcore.solution` and older callers that compare with
strings (`r.verdict == "wrong"`) keep working, while code inside the package names its members.
A step that turns out to make no claim (a definition, an equation in its unknowns) is no
`Decision` at all (`None`), never a sentinel verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

__all__ = ["CheckerError", "Decision", "Result", "Verdict"]


class CheckerError(Exception):
    """The checker's worker processes could not be started (the only error it raises to callers)."""


class Verdict(StrEnum):
    """What the checker says of one claim."""

    VERIFIED = "verified"  # shown equal, symbolically or at many points, complex ones included
    WRONG = "wrong"  # refuted by a counterexample where both sides are defined and the document's domain holds
    UNKNOWN = "unknown"  # not read with certainty, or undecided in time: never shown as a problem
    APPROXIMATE = "approximate"  # a value rounded to the digits written (`= 6.67`): information, never a warning


@dataclass(frozen=True)
class Decision:
    """What a worker decided about one claim; `counterexample` only for WRONG."""

    verdict: Verdict
    message: str
    counterexample: dict[str, Any] | None = None


@dataclass(frozen=True)
class Result:
    """The verdict on one claim at (line, column), 1-based; `counterexample` only for `wrong`."""

    line: int
    column: int
    verdict: Verdict
    message: str
    step: str
    counterexample: dict[str, Any] | None = None

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict.value
        if file is not None:
            out = {"file": file, **out}
        if out["counterexample"] is None:
            del out["counterexample"]
        return out
