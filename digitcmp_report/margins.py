"""How safely each grid search picked its winner: the margin over the runner-up, in pairs.

Validation accuracy is a count of correct pairs out of n_val (300 by default), so the winner's
margin over the best other grid point is a whole number of pairs. The noise of one accuracy on
n_val pairs is its binomial standard error √(p(1−p)/n_val); the difference of two points scored
on the same pairs is noisier still. A winner whose margin is within one such standard error
(in pairs: √(p(1−p)·n_val), about 7 pairs at p = 0.85) is marked fragile: another validation
split could well pick the runner-up.
"""

import math

POINT = ("lr", "hidden", "lambda")


def ranked(grid: list[dict]) -> list[dict]:
    """The grid's finite rows, best validation accuracy first (ties as the search's tie rule)."""
    rows = [r for r in grid if not r["diverged"]] or list(grid)
    return sorted(rows, key=lambda r: (-r["val_acc"], r["hidden"], r["lr"], r["lambda"] or 0))


def margin_pairs(grid: list[dict], n_val: int) -> int:
    """Winner − runner-up in validation pairs (0: a tie the tie rule broke)."""
    rows = ranked(grid)
    if len(rows) < 2:
        return n_val
    return round((rows[0]["val_acc"] - rows[1]["val_acc"]) * n_val)


def noise_pairs(val_acc: float, n_val: int) -> float:
    """One binomial standard error of a validation accuracy, in pairs."""
    return math.sqrt(val_acc * (1 - val_acc) * n_val)


def winner_margin(found: dict, n_val: int) -> dict:
    """The winner's margin over the runner-up, the validation noise, and whether it is fragile."""
    rows = ranked(found["grid"])
    margin = margin_pairs(found["grid"], n_val)
    noise = noise_pairs(rows[0]["val_acc"], n_val)
    runner = {k: rows[1][k] for k in POINT} if len(rows) > 1 else None
    return {"margin_pairs": margin, "noise_pairs": noise, "fragile": margin <= noise, "runner_up": runner}
