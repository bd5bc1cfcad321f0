"""Tests that respect the dependence between retrainings: the corrected resampled t-test.

Retraining i of every architecture sees data draw i, and the draws overlap: on mnist5k each
draw takes 2,000 of a pool's 2,500 images, so two draws' test sets share about 80% of their
images (their train sets too). Welch's test treats the 30 accuracies as independent; so does
the paired t-test over draws. Nadeau & Bengio (2003) correct the paired test for resamplings
whose performance estimates correlate with ρ: with J differences d_i of sample variance s²,

    Var(mean d) = σ²(1/J + (1 − 1/J)ρ),   E[s²] = σ²(1 − ρ)   ⇒   Var ≈ s²(1/J + ρ/(1 − ρ)),

t = mean d / √(s²(1/J + ρ/(1 − ρ))) on J − 1 degrees of freedom. Their heuristic ρ = n_test /
(n_train + n_test) gives the factor 1/J + n_test/n_train: with our 1,000 train and 1,000 test
pairs, 1/30 + 1 (ρ = 0.5). Our draws overlap more than their random splits: the share of test
images two draws have in common, f, bounds the correlation that shared test data can cause
(only shared items correlate; fresh initial weights and fresh pairings of shared images lower
it), so ρ = f (≈ 0.8, measured from data/prepared) is the conservative end. Both are reported.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from digitcmp_report import formats as fmt
from digitcmp_report.stats import ALPHA, holm

NB_RHO = 0.5  # Nadeau & Bengio's n_test / (n_train + n_test) with n_test = n_train


def corrected_t(a: Sequence[float], b: Sequence[float], rho: float) -> dict[str, float]:
    """The corrected resampled (paired) t-test of a − b over draws at correlation rho."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    j = len(d)
    mean, var = float(d.mean()), float(d.var(ddof=1))
    if var == 0:
        return {"t": math.inf if mean else math.nan, "p": 0.0 if mean else 1.0}
    t = mean / math.sqrt(var * (1 / j + rho / (1 - rho)))
    return {"t": t, "p": float(2 * stats.t.sf(abs(t), j - 1))}


def p_greater(a: Sequence[float], b: Sequence[float]) -> float:
    """P(A > B): the share of (a_i, b_j) pairs with a_i > b_j, ties counting half."""
    a, b = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[None, :]
    return float(((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def corrected_tests(tests: pd.DataFrame, runs: Mapping[str, dict], overlap: float) -> pd.DataFrame:
    """Beside each comparison's Welch p: P(A > B) and the corrected test at ρ = 0.5 (N&B) and at
    ρ = the draws' test overlap, each Holm-adjusted over the rows; `survives`: significant
    under Welch-Holm and under the overlap-corrected Holm too."""
    out = tests[["family", "test", "a", "b", "diff", "p_holm"]].copy()
    for name, rho in (("nb", NB_RHO), ("overlap", overlap)):
        ps = [corrected_t(runs[r.a]["test_acc"], runs[r.b]["test_acc"], rho)["p"] for r in tests.itertuples()]
        out[f"p_{name}"] = ps
        out[f"p_{name}_holm"] = holm(ps)
    out["p_a_gt_b"] = [p_greater(runs[r.a]["test_acc"], runs[r.b]["test_acc"]) for r in tests.itertuples()]
    out["welch_sig"] = out["p_holm"] < ALPHA
    out["nb_sig"] = out["p_nb_holm"] < ALPHA
    out["overlap_sig"] = out["p_overlap_holm"] < ALPHA
    return out


def spread(runs: Mapping[str, dict], archs: Sequence[str]) -> pd.DataFrame:
    """Min, median and max test accuracy of each architecture's retrainings."""
    return pd.DataFrame([{"arch": a, "min": min(runs[a]["test_acc"]), "median": float(np.median(runs[a]["test_acc"])),
                          "max": max(runs[a]["test_acc"])} for a in archs])


def dependence_markdown(corrected: pd.DataFrame, spread_frame: pd.DataFrame, overlap: float, repeats: int) -> str:
    """The corrected tests beside Welch's, and each architecture's min/median/max."""
    factor = lambda rho: 1 / repeats + rho / (1 - rho)  # noqa: E731
    lines = ["## Tests that respect the overlapping draws", "",
             f"Welch's test treats the {repeats} retrainings as independent, but their draws overlap (test sets "
             f"share {overlap:.0%} of their images on average). Beside it: the corrected resampled t-test "
             "(Nadeau & Bengio 2003), paired over draws, variance × (1/J + ρ/(1 − ρ)): at N&B's ρ = 0.5 "
             f"(n_test/n_train = 1, factor {factor(NB_RHO):.3f}) and at ρ = the test overlap {overlap:.2f} "
             f"(factor {factor(overlap):.2f}), an upper bound on the correlation shared test images can cause, so "
             "the conservative end (`digitcmp_report.dependence` derives both). Chosen over a bootstrap because "
             "what the draws share is images, not pairs: a bootstrap over pairs cannot resample it. "
             "Holm over the 16 for each. P(A > B): the share of (run of A, run of B) pairs where A wins.", "",
             "| comparison | Δ mean | P(A > B) | Welch, Holm | N&B ρ=0.5, Holm | ρ=overlap, Holm |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in corrected.itertuples():
        star = lambda sig: " ✱" if sig else ""  # noqa: E731
        lines.append(f"| {r.a} − {r.b} | {r.diff:+.4f} | {r.p_a_gt_b:.2f} | {fmt.p_value(r.p_holm)}{star(r.welch_sig)} | "
                     f"{fmt.p_value(r.p_nb_holm)}{star(r.nb_sig)} | {fmt.p_value(r.p_overlap_holm)}{star(r.overlap_sig)} |")
    n_welch, n_nb, n_ov = (int(corrected[c].sum()) for c in ("welch_sig", "nb_sig", "overlap_sig"))
    kept = corrected[corrected["welch_sig"] & corrected["nb_sig"]]
    lines += ["", f"✱ p < {ALPHA}. Significant: {n_welch} under Welch, {n_nb} under the N&B correction, {n_ov} at "
              f"ρ = overlap. Of Welch's {n_welch}, {len(kept)} survive the N&B correction: "
              + (", ".join(f"{r.a} − {r.b}" for r in kept.itertuples()) or "none") + ".", "",
              "| architecture | min | median | max |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.arch} | {r.min:.3f} | {r.median:.3f} | {r.max:.3f} |" for r in spread_frame.itertuples()]
    return "\n".join(lines)
