"""The promotion rule: a leg replaces the shipped model only when no row is worse than the first edition's."""

from __future__ import annotations

from training.promote import compare

FIRST = {"linear": [3, 10], "answered": [90, 90], "declined": [0, 30], "align next": [17, 40]}


def test_a_leg_better_or_equal_on_every_row_is_promoted() -> None:
    assert compare(FIRST, {"linear": [8, 10], "answered": [89, 90], "declined": [13, 30], "align next": [17, 40]}) == []


def test_one_worse_row_or_a_missing_one_keeps_the_first_edition() -> None:
    assert compare(FIRST, {"linear": [2, 10], "answered": [90, 90], "declined": [13, 30], "align next": [24, 40]}) == ["linear: 2/10 < 3/10"]
    assert compare(FIRST, {"linear": [8, 10], "answered": [90, 90], "declined": [13, 30]}) == ["align next: not measured"]


def test_declining_is_allowed_to_cost_in_scope_answers_down_to_the_floor_only() -> None:
    assert compare(FIRST, {"linear": [8, 10], "answered": [80, 90], "declined": [30, 30], "align next": [30, 40]}) == ["answered: 89% < 95%"]
