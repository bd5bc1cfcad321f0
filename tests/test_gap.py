"""The report's "Why ours differ from the study's": the gap split into standardising and the rest."""

import numpy as np
import pandas as pd
import pytest

from digitcmp_report.gap import compatible, gap_markdown, gap_table, welch_from_stats

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`

ARCHS = ("a", "b")


def _runs(means: dict[str, float], seed: int) -> dict[str, dict]:
    gen = np.random.default_rng(seed)
    return {arch: {"test_acc": list(m + 0.01 * gen.standard_normal(30))} for arch, m in means.items()}


def test_gap_splits_into_standardising_and_what_is_left():
    ours = _runs({"a": 0.90, "b": 0.85}, 0)
    raw = {"command": "python -m scripts.conditions", "runs": _runs({"a": 0.85, "b": 0.85}, 1)}
    study = pd.DataFrame({"mean": [0.80, 0.85], "std": [0.01, 0.01]}, index=list(ARCHS))
    table = gap_table(ours, raw, study, ARCHS)
    a, b = table.loc["a"], table.loc["b"]
    assert abs(a["gap"] - (a["scaling"] + a["left"])) < 1e-12  # the two parts add up to the gap
    assert 0.3 < a["share"] < 0.7  # about half of a's 0.10 gap is standardising
    assert a["p_scaling_paired"] < 1e-6 and a["p_left"] < 1e-6
    assert b["p_scaling"] > 0.001  # b: no effect to find
    text = gap_markdown(table, raw)
    assert text.startswith("## Why ours differ from the study's")
    assert "python -m scripts.conditions data.source=mnist" in text


def test_welch_from_stats_matches_the_test_on_the_runs():
    gen = np.random.default_rng(3)
    x, y = gen.normal(0.9, 0.01, 30), gen.normal(0.89, 0.02, 30)
    from digitcmp_report.stats import welch
    direct = welch(x, y)
    summary = welch_from_stats(x.mean(), x.std(ddof=1), 30, y.mean(), y.std(ddof=1), 30)
    assert set(summary) == set(direct)
    assert all(abs(direct[k] - summary[k]) < 1e-9 for k in direct)


def test_a_conditions_file_of_other_draws_is_named_not_paired():
    params = {"data": {"source": "mnist5k", "seed": 0, "n_pairs": 60}, "train": {"repeats": 2, "epochs": 1}}
    same = {"data": dict(params["data"]), "train": {"repeats": 2, "epochs": 1}}
    other = {"data": {**params["data"], "n_pairs": 1000}, "train": {"repeats": 30, "epochs": 25}}
    assert compatible(same, params) is None
    why = compatible(other, params)
    assert "n_pairs 1000 (here 60)" in why and "repeats 30 (here 2)" in why
    assert why in gap_markdown(None, None, why)
