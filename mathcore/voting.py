"""Majority voting over sampled solutions (maj@k in the DeepSeekMath paper).

Answers that are mathematically equal form one group; the group with the most members wins, ties
broken by first appearance. Solutions without an answer do not vote. What "equal" means is the
caller's: model output is compared with `checker.answers_equal` (sympy, bounded in time), which
this pure module does not import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mathcore.answers import extract_answer

__all__ = ["Vote", "majority_vote"]


@dataclass(frozen=True)
class Vote:
    """One group of equal answers: the answer as first written, its count and share of all samples."""

    answer: str
    count: int
    share: float
    members: tuple[int, ...]


def majority_vote(texts: Sequence[str], equal: Callable[[str, str], bool]) -> list[Vote]:
    """Group the samples' final answers; the winner comes first. Shares are of all samples."""
    groups: list[tuple[str, list[int]]] = []
    for i, text in enumerate(texts):
        answer = extract_answer(text)
        if answer is None:
            continue
        for rep, members in groups:
            if equal(rep, answer):
                members.append(i)
                break
        else:
            groups.append((answer, [i]))
    total = max(len(texts), 1)
    votes = [Vote(rep, len(m), len(m) / total, tuple(m)) for rep, m in groups]
    return sorted(votes, key=lambda v: (-v.count, v.members[0]))
