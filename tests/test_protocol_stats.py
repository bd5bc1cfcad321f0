"""The report's statistics, each against values worked by hand (and scipy's own tests),
and what the data allows: how much two retrainings' test sets overlap."""

import math

import numpy as np
import pytest
from scipy import stats

from digitcmp.training.models import FAMILIES, VARIANTS
from digitcmp_report import stats as report
from digitcmp_report.tables import comparisons
from digitcmp.data import draw_all, mean_test_overlap
from digitcmp.training.pairs import Pools

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`

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


@pytest.mark.filterwarnings("error")  # a single run is refused, not fed to a std of one value
def test_hedges_g_by_hand():
    n1, n2 = len(A), len(B)
    pooled = math.sqrt(((n1 - 1) * np.var(A, ddof=1) + (n2 - 1) * np.var(B, ddof=1)) / (n1 + n2 - 2))
    d = (np.mean(A) - np.mean(B)) / pooled
    assert report.hedges_g(A, B) == pytest.approx(d * (1 - 3 / (4 * (n1 + n2) - 9)), rel=1e-12)
    assert report.hedges_g(B, A) == pytest.approx(-report.hedges_g(A, B))
    assert math.isnan(report.hedges_g([0.8], B)) and math.isnan(report.hedges_g([0.8, 0.8], [0.8, 0.8]))
    assert math.isnan(report.hedges_g(B, [0.8])) and math.isnan(report.hedges_g([0.8, 0.8], [0.7, 0.7]))  # no spread
    two = report.hedges_g([0.80, 0.84], [0.70, 0.72])  # two runs each are enough
    assert two == pytest.approx((0.11 / math.sqrt((0.0008 + 0.0002) / 2)) * (1 - 3 / 7))
    # the same from means, sample stds and counts (the study's published Table 2 has only these)
    assert report.hedges_g_from_stats(0.82, math.sqrt(0.0008), 2, 0.71, math.sqrt(0.0002), 2) == pytest.approx(two)
    assert math.isnan(report.hedges_g_from_stats(0.82, 0.0, 30, 0.71, 0.0, 30))


def test_paired_t_test_over_draws_by_hand():
    a, b = A, B[:6]
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    p = 2 * stats.t.sf(abs(t), len(d) - 1)
    assert report.paired_p(a, b) == pytest.approx(p, rel=1e-10)
    assert report.paired_p(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert math.isnan(report.paired_p(A, B)) and math.isnan(report.paired_p([0.8], [0.7]))
    assert report.paired_p([0.8, 0.7], [0.75, 0.6]) == pytest.approx(stats.ttest_rel([0.8, 0.7], [0.75, 0.6]).pvalue)
    two = report._paired_diff(np.array([0.05, 0.1]))
    assert two["p"] == pytest.approx(stats.ttest_1samp([0.05, 0.1], 0.0).pvalue) and two["ci_low"] < 0.075 < two["ci_high"]
    got = report._paired_diff(d)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert (got["diff"], got["ci_low"], got["ci_high"], got["p"]) == pytest.approx(
        (d.mean(), d.mean() - half, d.mean() + half, p), rel=1e-10)


def test_comparisons_test_each_factor_treatment_minus_control_with_holm_over_all():
    rng = np.random.default_rng(0)
    runs = {f"{fam}_{v}": {"test_acc": list(0.7 + 0.02 * i + 0.01 * rng.standard_normal(5))}
            for fam in FAMILIES for i, v in enumerate(VARIANTS)}
    table = comparisons(runs)
    assert len(table) == 4 * len(FAMILIES)
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


def test_paired_change_pairs_run_k_of_one_pipeline_run_with_run_k_of_the_other():
    before = {"x": {"test_acc": [0.80, 0.82, 0.81], "lr": 1e-3, "hidden": 50, "lambda": None},
              "y": {"test_acc": [0.70, 0.71], "lr": 1e-3, "hidden": 50, "lambda": 0.5},
              "gone": {"test_acc": [0.5, 0.6]}}
    after = {"y": {"test_acc": [0.72, 0.74], "lr": 1e-3, "hidden": 100, "lambda": 0.5},
             "x": {"test_acc": [0.81, 0.85, 0.81], "lr": 1e-3, "hidden": 50, "lambda": None}}
    rows = report.paired_change(before, after)
    assert list(rows) == ["x", "y", "all"]
    d = np.array([0.01, 0.03, 0.0])
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    x = rows["x"]
    assert (x["before"], x["after"], x["diff"]) == pytest.approx((0.81, 0.82333333, 0.01333333))
    assert (x["ci_low"], x["ci_high"], x["p"]) == pytest.approx((d.mean() - half, d.mean() + half,
                                                                 2 * stats.t.sf(t, 2)), rel=1e-8)
    assert x["same_winner"] and not rows["y"]["same_winner"] and not rows["all"]["same_winner"]
    assert rows["all"]["diff"] == pytest.approx(np.mean([0.01, 0.03, 0.0, 0.02, 0.03]))
    assert math.isnan(rows["all"]["before"]) and math.isnan(rows["all"]["after"])
    flat = report._paired_diff(np.array([0.02, 0.02]))
    assert flat["diff"] == pytest.approx(0.02) and all(math.isnan(flat[k]) for k in ("ci_low", "ci_high", "p"))
    for key, other in (("lr", 1e-5), ("lambda", 1.0)):  # a changed winner, whichever axis changed
        moved = {"x": {**after["x"], key: other}}
        assert not report.paired_change(before, moved)["x"]["same_winner"]
    assert report.paired_change_text(rows).splitlines()[0].split()[1:4] == ["before", "after", "after-before"]
    assert math.isnan(report._paired_diff(np.array([]))["diff"])
    with pytest.raises(report.UserError, match=r"^x: 3 runs before, 2 after; allowed"):
        report.paired_change(before, {"x": {"test_acc": [0.8, 0.8]}})
    lines = report.paired_change_text(rows, "fp32", "bf16").splitlines()
    assert lines[0].split() == ["architecture", "fp32", "bf16", "bf16-fp32", "95%", "CI", "p", "winner"]
    assert lines[1].split() == ["x", "0.8100", "0.8233", "+0.0133", f"[{x['ci_low']:+.4f},", f"{x['ci_high']:+.4f}]",
                                f"{x['p']:.3f}", "same"]
    assert lines[2].split()[-1] == "changed" and lines[3].split()[:2] == ["all", f"{rows['all']['diff']:+.4f}"]


def test_results_md_says_what_overlapping_draws_do_to_the_std():
    from digitcmp_report.markdown import Protocol, data_markdown

    base = dict(source="mnist5k", n_pairs=1000, seed=0, epochs=25, batch_size=100, val_fraction=0.3, repeats=30,
                lr=[1e-3], hidden=[100], lam=[0.5])
    assert data_markdown(Protocol(**base)) == ""  # not measured: nothing said
    text = data_markdown(Protocol(**base, test_overlap=0.79987, test_pool=2500))
    assert "2,000 of the same 2,500 test-pool images" in text and "share 80.0% of their images" in text
    assert "80% expected" in text and "about 20%" in text and "not directly comparable with it" in text
    assert "√(1 − 0.80) ≈ 45%" in text and "means are fair estimates" in text
    full = data_markdown(Protocol(**{**base, "source": "mnist"}, test_overlap=0.2, test_pool=10_000))
    assert "the study's own setting" in full and "not directly comparable" not in full
