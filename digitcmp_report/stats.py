"""Statistics of retrained test accuracies, numpy and scipy only (bench/ and scripts/
import this room without the report's plotting).

Primary test: Welch's t-test (`scipy.stats.ttest_ind(a, b, equal_var=False)`), since the
study's own stds differ up to fivefold between variants. Effect size: Hedges' g, the
difference of means over the pooled standard deviation times the small-sample
correction 1 − 3/(4(n₁+n₂)−9). p-values are also given Holm-adjusted (family-wise
error). Because run i of every architecture is trained and tested on the same data
draw i (only the initial weights differ), a paired t-test over draws is reported
beside Welch's, and `paired_change` compares two runs of the pipeline draw by draw.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from digitcmp.errors import UserError

ALPHA = 0.05  # significance level of every test the report reads


def hedges_g_from_stats(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> float:
    """(m1 − m2) / pooled sample std × (1 − 3/(4(n₁+n₂)−9)), from two means, sample stds
    and run counts (two or more each); NaN without any spread."""
    pooled = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    if pooled == 0:
        return math.nan
    return float((m1 - m2) / pooled * (1 - 3 / (4 * (n1 + n2) - 9)))


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float:
    """Hedges' g of two samples of runs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    return hedges_g_from_stats(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1), len(b))


def welch(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Welch's t-test of a vs b: t, df, two-sided p, mean difference and its 95% CI, g."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    return {
        "t": float(res.statistic), "df": float(res.df), "p": float(res.pvalue),
        "diff": float(a.mean() - b.mean()), "ci_low": float(ci.low), "ci_high": float(ci.high),
        "g": hedges_g(a, b),
    }


def paired_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p of the paired t-test over data draws (NaN unless equally many runs)."""
    if len(a) != len(b) or len(a) < 2:
        return math.nan
    return float(stats.ttest_rel(a, b).pvalue)


def paired_change(before: Mapping[str, dict], after: Mapping[str, dict]) -> dict[str, dict]:
    """Per architecture in both, after − before: the means and the paired test over draws.

    Retraining k of an architecture sees the same train and test draw in any run of the
    pipeline with the same data params, so pairing by k removes the draws' variance and
    shows small shifts (a change of precision, of code). Last row "all": every pair of
    every architecture together."""
    rows, pooled = {}, []
    for arch in (a for a in before if a in after):
        a = np.asarray(before[arch]["test_acc"], dtype=float)
        b = np.asarray(after[arch]["test_acc"], dtype=float)
        if len(a) != len(b):
            raise UserError(f"{arch}: {len(a)} runs before, {len(b)} after; allowed: equally many (same train.repeats)")
        pooled.append(b - a)
        winner = lambda r: (r.get("lr"), r.get("hidden"), r.get("lambda"))  # noqa: E731
        rows[arch] = {"before": a.mean(), "after": b.mean(), "same_winner": winner(before[arch]) == winner(after[arch]),
                      **_paired_diff(b - a)}
    if pooled:
        rows["all"] = {"before": math.nan, "after": math.nan, "same_winner": all(r["same_winner"] for r in rows.values()),
                       **_paired_diff(np.concatenate(pooled))}
    return rows


def paired_change_text(table: Mapping[str, dict], before: str = "before", after: str = "after") -> str:
    """`paired_change`'s rows as aligned text for a terminal."""
    lines = [f"{'architecture':22s} {before:>7s} {after:>7s} {after + '-' + before:>12s} {'95% CI':>19s} "
             f"{'p':>7s}  winner"]
    for arch, r in table.items():
        means = f"{'':7s} {'':7s}" if arch == "all" else f"{r['before']:7.4f} {r['after']:7.4f}"
        # no spread in the differences (every pair moved alike): no interval, no test
        ci = "—".center(19) if math.isnan(r["p"]) else f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"
        p = "—".rjust(7) if math.isnan(r["p"]) else f"{r['p']:7.3f}"
        lines.append(f"{arch:22s} {means} {r['diff']:+12.4f} {ci} {p}  {'same' if r['same_winner'] else 'changed'}")
    return "\n".join(lines)


def _paired_diff(d: np.ndarray) -> dict[str, float]:
    """Mean of paired differences, its 95% CI and the two-sided p of the paired t-test."""
    if len(d) < 2 or not d.std():
        return {"diff": float(d.mean()) if len(d) else math.nan, "ci_low": math.nan, "ci_high": math.nan, "p": math.nan}
    res = stats.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(0.95)
    return {"diff": float(d.mean()), "ci_low": float(ci.low), "ci_high": float(ci.high), "p": float(res.pvalue)}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaNs stay NaN and do not count)."""
    p = np.asarray(pvalues, dtype=float)
    finite = np.flatnonzero(~np.isnan(p))
    out = np.full(len(p), math.nan)
    m = len(finite)
    running = 0.0
    for rank, i in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()



def tost_paired(d: Sequence[float], margin: float) -> dict[str, float]:
    """Two one-sided t-tests that the mean paired difference lies within ±margin (Schuirmann):
    p = max(p of mean ≤ −margin, p of mean ≥ +margin); equivalence at ALPHA when p < ALPHA.
    Differences all equal: p is 0 if their value is inside the margin, else 1."""
    d = np.asarray(d, dtype=float)
    mean = float(d.mean())
    if len(d) < 2 or not d.std():
        return {"mean": mean, "sd": 0.0, "p": 0.0 if abs(mean) < margin else 1.0}
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(len(d))
    p_low = float(stats.t.sf((mean + margin) / se, len(d) - 1))
    p_high = float(stats.t.cdf((mean - margin) / se, len(d) - 1))
    return {"mean": mean, "sd": sd, "p": max(p_low, p_high)}
