"""The report's new statistics, each against a worked example done by hand.

For Student's t with 2 degrees of freedom, P(|T| > t) = 1 − t/√(2 + t²): every p below
comes from that closed form, not from scipy."""

import math

import pytest

from digitcmp_report.budget import expected_max
from digitcmp_report.dependence import corrected_t, p_greater
from digitcmp_report.margins import margin_pairs, winner_margin
from digitcmp_report.stats import tost_paired

A, B = [0.80, 0.82, 0.84], [0.79, 0.80, 0.80]  # d = 0.01·[1, 2, 4]: mean 7/3, variance 7/3 (units of 0.01)


def p2(t: float) -> float:
    return 1 - abs(t) / math.sqrt(2 + t * t)


def test_the_corrected_resampled_t_test_on_three_draws():
    # Uncorrected (the paired t-test): t = (7/3) / √(7/3 · 1/3) = √7.
    assert corrected_t(A, B, 0.0)["t"] == pytest.approx(math.sqrt(7))
    assert corrected_t(A, B, 0.0)["p"] == pytest.approx(p2(math.sqrt(7)))  # 0.1181
    # ρ = 0.5: factor 1/3 + 1 = 4/3, t = (7/3) / √(7/3 · 4/3) = √7 / 2.
    nb = corrected_t(A, B, 0.5)
    assert nb["t"] == pytest.approx(math.sqrt(7) / 2) and nb["p"] == pytest.approx(0.31687, abs=1e-5)
    # ρ = 0.8: factor 1/3 + 4 = 13/3, t = 7 / √91.
    assert corrected_t(A, B, 0.8)["t"] == pytest.approx(7 / math.sqrt(91))
    assert corrected_t(A, B, 0.8)["p"] == pytest.approx(0.53943, abs=1e-5)
    assert corrected_t(B, A, 0.5)["t"] == pytest.approx(-math.sqrt(7) / 2)


def test_p_a_greater_than_b_counts_ties_as_half():
    # (1,2)×2: 0; (2,2)×2: ½ each; (3,2)×2: 1 each → 3 of 6.
    assert p_greater([1, 2, 3], [2, 2]) == 0.5
    assert p_greater([3], [1, 2]) == 1.0 and p_greater([1], [1]) == 0.5


def test_the_expected_maximum_of_n_grid_points_drawn_without_replacement():
    vals = [0.9, 0.6, 0.7]
    assert expected_max(vals, 1) == pytest.approx((0.6 + 0.7 + 0.9) / 3)
    # Pairs: {0.6, 0.7} → 0.7, {0.6, 0.9} → 0.9, {0.7, 0.9} → 0.9.
    assert expected_max(vals, 2) == pytest.approx((0.7 + 0.9 + 0.9) / 3)
    assert expected_max(vals, 3) == pytest.approx(0.9)
    # Ties: {0.5, 0.5} → 0.5, {0.5, 0.8} twice → 0.8.
    assert expected_max([0.5, 0.8, 0.5], 2) == pytest.approx((0.5 + 0.8 + 0.8) / 3)


def test_tost_shows_equivalence_only_inside_the_margin():
    d = [0.01, 0.02, 0.04]  # mean 0.02333, se = 0.01·√7/3
    # The upper one-sided test decides: t = (7/3 − 5)/(√7/3) = −3.0237, p = p2(t)/2 = 0.04709.
    r = tost_paired(d, 0.05)
    assert r["p"] == pytest.approx(0.047089, abs=1e-5) and r["p"] < 0.05
    assert tost_paired(d, 0.04)["p"] > 0.05  # a tighter margin: not shown equivalent
    assert tost_paired([0.0, 0.0], 0.01)["p"] == 0.0  # identical: equivalent at any margin
    assert tost_paired([0.02, 0.02], 0.01)["p"] == 1.0


def test_a_winners_margin_in_validation_pairs_and_when_it_is_fragile():
    row = lambda acc, hidden: {"lr": 1e-3, "hidden": hidden, "lambda": None, "val_acc": acc, "diverged": False}  # noqa: E731
    grid = [row(240 / 300, 50), row(250 / 300, 100), row(247 / 300, 200), row(0.9, 300) | {"diverged": True}]
    assert margin_pairs(grid, 300) == 3  # 250 − 247 correct pairs; the diverged point never counts
    m = winner_margin({"grid": grid}, 300)
    # Noise: √(p(1 − p)·n) = √(250·50/300) = 6.455 pairs ≥ 3: fragile.
    assert m["noise_pairs"] == pytest.approx(math.sqrt(250 * 50 / 300)) and m["fragile"] is True
    assert m["runner_up"] == {"lr": 1e-3, "hidden": 200, "lambda": None}
    assert winner_margin({"grid": [row(0.9, 50), row(0.5, 100)]}, 300)["fragile"] is False
