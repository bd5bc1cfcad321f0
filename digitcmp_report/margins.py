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


def margins_markdown(searches, archs, n_val: int, robustness: dict | None) -> str:
    """Fragile winners: each architecture's margin over the runner-up, and, when
    experiments/winner_robustness.json is there, how often further splits changed the winner."""
    lines = ["## How safely each winner won", "",
             f"The winner's validation margin over the runner-up, in pairs of the {n_val}; noise: one binomial "
             "standard error of the winner's validation accuracy, in pairs. **Fragile**: margin ≤ noise, so "
             "another split could pick the runner-up (`digitcmp_report.margins`)."]
    robust = (robustness or {}).get("architectures", {})
    head = "| architecture | winner | runner-up | margin | noise | fragile |"
    rule = "| --- | --- | --- | --- | --- | --- |"
    if robust:
        k = next(iter(robust.values()))["further_splits"]
        head, rule = head + f" winner changed, {k} further splits |", rule + " --- |"
        lines[-1] += (f" Last column: `python -m scripts.robustness` reran each grid search on {k} further fit/validation "
                      "splits (retrainings' train pairs only) → experiments/winner_robustness.json.")
    lines += ["", head, rule]
    point = lambda p: f"lr {p['lr']:g}, h {p['hidden']}" + (f", λ {p['lambda']:g}" if p.get("lambda") is not None else "")  # noqa: E731,E501
    n_fragile = 0
    for arch in archs:
        m = winner_margin(searches[arch], n_val)
        n_fragile += m["fragile"]
        row = (f"| {arch} | {point(searches[arch]['best'])} | {point(m['runner_up']) if m['runner_up'] else '—'} | "
               f"{m['margin_pairs']} | {m['noise_pairs']:.1f} | {'**fragile**' if m['fragile'] else 'no'} |")
        if robust:
            r = robust.get(arch)
            row += f" {r['winner_changes']} of {r['further_splits']} |" if r else " — |"
        lines.append(row)
    lines += ["", f"{n_fragile} of {len(archs)} winners are within the validation set's noise."]
    if robust:
        lines[-1] += " " + robustness_summary({a: robust[a] for a in archs if a in robust}, searches)
    return "\n".join(lines)


def robustness_summary(robust: dict, searches) -> str:
    """How often a further split changed the winner, over all architectures and by grid size."""
    def changed(group: list[str]) -> str:
        return f"{sum(robust[a]['winner_changes'] for a in group)} of {sum(robust[a]['further_splits'] for a in group)}"
    by_size: dict[int, list[str]] = {}
    for arch in robust:
        by_size.setdefault(len(searches[arch]["grid"]), []).append(arch)
    sizes = "; ".join(f"{'searches of ' if i == 0 else 'of '}{n} grid points: {changed(group)}"
                      for i, (n, group) in enumerate(sorted(by_size.items())))
    return (f"Further splits picked another winner in {changed(list(robust))} searches ({sizes}): the tuning "
            "variance that the study's single split hides.")
