"""The report's statistics, each against values worked by hand (and scipy's own tests),
and what the data allows: how much two retrainings' test sets overlap."""

import math

import numpy as np
import pytest
from scipy import stats

import digitcmp_report as report
from digitcmp.data import Pools, draw_all, mean_test_overlap

A = [0.81, 0.84, 0.79, 0.86, 0.83, 0.80]
B = [0.78, 0.80, 0.74, 0.79, 0.81, 0.77, 0.76, 0.70]


def _welch_by_hand(a, b):
    na, nb = len(a), len(b)
    va, vb = np.var(a, ddof=1) / na, np.var(b, ddof=1) / nb
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    return t, df, 2 * stats.t.sf(abs(t), df), math.sqrt(va + vb)


def test_welch_t_test_by_hand():
    t, df, p, se = _welch_by_hand(A, B)
    got = report.welch(A, B)
    assert (got["t"], got["df"], got["p"]) == pytest.approx((t, df, p), rel=1e-10)
    diff = np.mean(A) - np.mean(B)
    half = stats.t.ppf(0.975, df) * se
    assert (got["diff"], got["ci_low"], got["ci_high"]) == pytest.approx((diff, diff - half, diff + half), rel=1e-10)
    assert got["g"] == pytest.approx(report.hedges_g(A, B))
    assert report.welch(B, A)["t"] == pytest.approx(-t)  # a − b, not b − a
    assert got["p"] == pytest.approx(stats.ttest_ind(A, B, equal_var=False).pvalue, rel=1e-12)


def test_holm_adjustment_by_hand():
    # sorted: 0.005·5, 0.01·4, 0.03·3, 0.04·2, 0.5·1 → made monotone, capped at 1
    got = report.holm([0.01, 0.04, 0.03, 0.005, 0.5, math.nan])
    assert got[:5] == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    assert math.isnan(got[5])  # NaN stays NaN and does not count in m
    assert report.holm([0.3, 0.6]) == pytest.approx([0.6, 0.6])
    assert report.holm([0.9, 0.8]) == [1.0, 1.0]
    assert report.holm([0.02]) == pytest.approx([0.02])


def test_hedges_g_by_hand():
    n1, n2 = len(A), len(B)
    pooled = math.sqrt(((n1 - 1) * np.var(A, ddof=1) + (n2 - 1) * np.var(B, ddof=1)) / (n1 + n2 - 2))
    d = (np.mean(A) - np.mean(B)) / pooled
    assert report.hedges_g(A, B) == pytest.approx(d * (1 - 3 / (4 * (n1 + n2) - 9)), rel=1e-12)
    assert report.hedges_g(B, A) == pytest.approx(-report.hedges_g(A, B))
    assert math.isnan(report.hedges_g([0.8], B)) and math.isnan(report.hedges_g([0.8, 0.8], [0.8, 0.8]))


def test_paired_t_test_over_draws_by_hand():
    a, b = A, B[:6]
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    p = 2 * stats.t.sf(abs(t), len(d) - 1)
    assert report.paired_p(a, b) == pytest.approx(p, rel=1e-10)
    assert report.paired_p(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert math.isnan(report.paired_p(A, B)) and math.isnan(report.paired_p([0.8], [0.7]))
    got = report._paired_diff(d)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert (got["diff"], got["ci_low"], got["ci_high"], got["p"]) == pytest.approx(
        (d.mean(), d.mean() - half, d.mean() + half, p), rel=1e-10)


def test_comparisons_test_each_factor_treatment_minus_control_with_holm_over_all():
    rng = np.random.default_rng(0)
    runs = {f"{fam}_{v}": {"test_acc": list(0.7 + 0.02 * i + 0.01 * rng.standard_normal(5))}
            for fam in report.FAMILIES for i, v in enumerate(report.VARIANTS)}
    table = report.comparisons(runs)
    assert len(table) == 4 * len(report.FAMILIES)
    for _, row in table.iterrows():
        a, b = runs[row["a"]]["test_acc"], runs[row["b"]]["test_acc"]
        assert row["t"] == pytest.approx(_welch_by_hand(a, b)[0])
        assert row["p_paired"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
        factor = "sharing" if row["factor"] == "sharing" else "aux"
        assert row["a"].split("_")[1:] != row["b"].split("_")[1:] and factor in row["a"]
    assert table["p_holm"].tolist() == pytest.approx(report.holm(table["p"].tolist()))


# --- What the data allows -------------------------------------------------------


def test_mean_test_overlap_of_random_draws_is_2n_over_the_pool():
    pool = Pools(np.zeros((2500, 14, 14), np.float32), np.zeros(2500, np.int64),
                 np.zeros((2500, 14, 14), np.float32), np.zeros(2500, np.int64))
    overlap = mean_test_overlap(draw_all(pool, 1000, seed=0, repeats=30))
    assert overlap == pytest.approx(2000 / 2500, abs=0.005)  # 435 pairs of draws; sd of the mean ~0.0005
    small = mean_test_overlap(draw_all(pool, 250, seed=0, repeats=10))
    assert small == pytest.approx(500 / 2500, abs=0.01)
    disjoint = np.array([[np.arange(4), np.arange(4) + 4 * k] for k in range(3)])
    assert mean_test_overlap(disjoint) == 0.0  # draw 0 (the search's) does not count
    same = np.array([[np.arange(4), np.arange(4)] for _ in range(3)])
    assert mean_test_overlap(same) == 1.0
