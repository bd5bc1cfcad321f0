"""Budget-matched comparisons: the expected best validation accuracy after n grid points.

The `_aux` architectures choose among 48 grid points (λ is a fourth axis), the `_noaux` ones
among 12, so part of "the auxiliary loss helps" could be "more search helps". Dodge et al.
(2019) compare models by the expected maximum validation accuracy when n hyperparameter
settings are tried; Tang et al. (2020) give its unbiased estimator from N settings already
computed, drawing n of them without replacement: with the N accuracies sorted v(1) ≤ … ≤ v(N),

    E[max of n] = Σ_i v(i) · C(i − 1, n − 1) / C(N, n)

(the i-th smallest is the maximum of the n drawn exactly when it is drawn with n − 1 of the
i − 1 below it). n = N gives the grid's maximum, n = 1 its mean.
"""

from collections.abc import Mapping, Sequence
from math import comb

import pandas as pd

from digitcmp.training.models import FAMILIES

EQUAL_BUDGET = 12  # the _noaux grids' size: the budget both sides of aux vs noaux can afford


def expected_max(values: Sequence[float], n: int) -> float:
    """The unbiased expected maximum of n of `values` drawn without replacement."""
    v = sorted(values)
    total = comb(len(v), n)
    return sum(x * comb(i, n - 1) for i, x in enumerate(v)) / total


def curves(searches: Mapping[str, dict], archs: Sequence[str]) -> pd.DataFrame:
    """arch, budget n, expected maximum validation accuracy: each architecture's whole curve."""
    rows = []
    for arch in archs:
        vals = [r["val_acc"] for r in searches[arch]["grid"] if not r["diverged"]]
        aux = "aux" if arch.endswith("_aux") else "noaux"
        rows += [{"arch": arch, "aux": aux, "budget": n, "expected_max": expected_max(vals, n)}
                 for n in range(1, len(vals) + 1)]
    return pd.DataFrame(rows)


def aux_at_equal_budget(searches: Mapping[str, dict], n: int = EQUAL_BUDGET) -> pd.DataFrame:
    """Per family and sharing: aux's and noaux's expected best validation accuracy at n points
    each, beside aux's at its full grid."""
    rows = []
    for family in FAMILIES:
        for sharing in ("nosharing", "sharing"):
            aux, noaux = (searches[f"{family}_{sharing}_{a}"]["grid"] for a in ("aux", "noaux"))
            val = lambda grid: [r["val_acc"] for r in grid if not r["diverged"]]  # noqa: E731
            m = min(n, len(val(aux)), len(val(noaux)))
            rows.append({"family": family, "sharing": sharing, "budget": m,
                         "aux_full": max(val(aux)), "n_aux": len(val(aux)),
                         "aux": expected_max(val(aux), m), "noaux": expected_max(val(noaux), m)})
    frame = pd.DataFrame(rows)
    frame["diff_full"] = frame["aux_full"] - frame["noaux"]
    frame["diff_equal"] = frame["aux"] - frame["noaux"]
    return frame


def budget_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def budget_markdown(frame: pd.DataFrame) -> str:
    """The aux-vs-noaux comparison at the _noaux grids' budget, as a results.md section."""
    lines = ["## The auxiliary loss at an equal tuning budget", "",
             "Expected best **validation** accuracy (Dodge et al. 2019, Tang et al. 2020's unbiased estimator, "
             "`digitcmp_report.budget`) when each side tries the same number of grid points: the `_noaux` grid's "
             f"{EQUAL_BUDGET}, drawn at random from the `_aux` grid's {int(frame['n_aux'].max())}. Curves for every "
             "budget: `plots/budget.csv`, the figure *budget* of `dvc plots show`.", "",
             "| family | sharing | aux, full grid | aux, equal budget | noaux | Δ full | Δ equal budget |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in frame.itertuples():
        lines.append(f"| {r.family} | {r.sharing} | {r.aux_full:.4f} ({r.n_aux}) | {r.aux:.4f} ({r.budget}) | "
                     f"{r.noaux:.4f} | {r.diff_full:+.4f} | {r.diff_equal:+.4f} |")
    share = (frame["diff_full"] - frame["diff_equal"]).sum() / frame["diff_full"].abs().sum() \
        if frame["diff_full"].abs().sum() else 0.0
    lines += ["", f"Of the summed |Δ| at full grids, {share:.0%} is the larger search: "
              f"{int((frame['diff_equal'] > 0).sum())} of {len(frame)} pairs still favour aux at equal budget "
              f"({int((frame['diff_full'] > 0).sum())} at full grids)."]
    return "\n".join(lines)
