"""How safely each winner won (digitcmp_report.margins), on grids worked by hand."""

import pytest

from digitcmp_report.margins import margin_pairs, margins_markdown, noise_pairs

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`


def point(lr, hidden, val_acc, lam=None, diverged=False):
    return {"lr": lr, "hidden": hidden, "lambda": lam, "val_acc": val_acc, "diverged": diverged}


def search(grid):
    best = sorted(grid, key=lambda r: (r["diverged"], -r["val_acc"], r["hidden"], r["lr"], r["lambda"] or 0))[0]
    return {"grid": grid, "best": {k: best[k] for k in ("lr", "hidden", "lambda")}}


def test_the_margin_is_whole_pairs_and_a_diverged_point_is_no_runner_up():
    grid = [point(1e-3, 50, 0.85), point(1e-3, 100, 0.84), point(0.1, 50, 0.99, diverged=True)]
    assert margin_pairs(grid, 300) == 3  # (0.85 − 0.84) × 300
    assert margin_pairs([point(1e-3, 50, 0.85), point(1e-3, 100, 0.85)], 300) == 0  # a tie
    assert noise_pairs(0.85, 300) == pytest.approx((0.85 * 0.15 * 300) ** 0.5)  # 6.18 pairs


def test_a_winner_within_the_noise_is_fragile_and_further_splits_are_counted():
    close = search([point(1e-3, 50, 0.85), point(1e-3, 100, 0.84)])  # 3 pairs ahead, noise 6.2: fragile
    clear = search([point(1e-3, 50, 0.90, 0.5), point(1e-3, 100, 0.80, 0.5), point(1e-3, 200, 0.70, 0.5)])
    robust = {"architectures": {"a": {"winner_changes": 2, "further_splits": 3},
                                "b": {"winner_changes": 0, "further_splits": 3}}}
    md = margins_markdown({"a": close, "b": clear}, ["a", "b"], 300, robust)
    rows = [line for line in md.splitlines() if line.startswith("| a ") or line.startswith("| b ")]
    assert rows[0].endswith("| 3 | 6.2 | **fragile** | 2 of 3 |")
    assert rows[1].endswith("| 30 | 5.2 | no | 0 of 3 |")  # 0.1 × 300; √(0.9 × 0.1 × 300)
    assert "1 of 2 winners are within the validation set's noise." in md
    assert "another winner in 2 of 6 searches (searches of 2 grid points: 2 of 3; of 3 grid points: 0 of 3)" in md
    assert "winner changed" not in margins_markdown({"a": close}, ["a"], 300, None)
