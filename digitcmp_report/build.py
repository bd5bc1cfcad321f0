"""Every output of the report stage, from the results it reads (no file writes here:
`stages/report.py` writes what `build_report` returns)."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from digitcmp.training.models import ARCHITECTURES
from digitcmp_report.figures import fig_accuracy, fig_boxplot, fig_curve, fig_pairs, png_bytes, read_curve
from digitcmp_report.markdown import Protocol, results_markdown
from digitcmp_report.cost import cost_markdown
from digitcmp_report.trials import trials_markdown
from digitcmp_report.gap import compatible, gap_markdown, gap_table
from digitcmp.training.pairs import split_sizes
from digitcmp_report.budget import aux_at_equal_budget, budget_csv, budget_markdown, curves
from digitcmp_report.dependence import corrected_tests, dependence_markdown, spread
from digitcmp_report.margins import margins_markdown
from digitcmp_report.reproduction import reproduction_markdown
from digitcmp_report.verdicts import verdicts, verdicts_markdown
from digitcmp_report.tables import (accuracy_csv, best_arch, comparisons, questions, results, runs_csv, study_table2,
                                    summary, table2)

# The declared metrics: one small file per architecture (its mean and std) and the best,
# so that `dvc metrics show` prints one row per architecture within a terminal's width
# (one file of every architecture's numbers is one row of 40-odd columns).
ACCURACY_DIR = "metrics/accuracy"
BEST_FILE = "metrics/best.json"
OUTPUTS = (  # and ACCURACY_DIR/<arch>.json for each architecture, study's and extras
    "results.md",
    BEST_FILE,
    "metrics/results.json",
    "plots/accuracy.csv",
    "plots/runs.csv",
    "plots/budget.csv",
    "plots/accuracy.png",
    "plots/boxplot.png",
    "plots/curve.png",
    "plots/pairs.png",
)


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode()


def metrics_files(summary: Mapping[str, Any]) -> dict[str, bytes]:
    """`tables.summary` as the declared metrics files: ACCURACY_DIR/<arch>.json and BEST_FILE."""
    files = {f"{ACCURACY_DIR}/{arch}.json": _json(entry) for arch, entry in summary.items() if arch != "best"}
    return {BEST_FILE: _json({"best": summary["best"]}), **files}


def build_report(runs: Mapping[str, dict], searches: Mapping[str, dict], protocol: Protocol,
                 curve_csv: str, curve_meta: Mapping[str, Any],
                 pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                 extras: Sequence[str] = (), archs: Sequence[str] = ARCHITECTURES,
                 conditions: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                 timing: Mapping[str, Any] | None = None, reproduced: Sequence[dict] = (),
                 robustness: Mapping[str, Any] | None = None,
                 trials: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """Every output of the report (path relative to the project root → bytes), from the
    runs and searches of the study's `archs` plus `extras` (rows below Table 2) and, for
    the gap to the study's Table 2, the sixteen under the study's `conditions` (made with
    `params`' data draws, or the section says why not) and, for what the best models cost,
    the seconds per training of `bench.train_time` (`timing`); the hosts that ran
    `scripts.reproduce` (`reproduced`), the winners on further splits (`robustness`) and
    the validation-only trials the tuned network was chosen on (`trials`, `scripts.trials`)."""
    table = table2(runs, searches, archs)
    extra = table2(runs, searches, extras) if extras else None
    tests = comparisons(runs)
    qs = questions(runs)
    best = best_arch(table)
    curve = read_curve(curve_csv)
    everything = table if extra is None else pd.concat([table, extra])
    why_not = "no experiments/study_conditions.json" if conditions is None else \
        (compatible(conditions, params) if params is not None else None)
    gap = gap_markdown(None if why_not else gap_table(runs, conditions, study_table2(), archs), conditions, why_not)
    text = results_markdown(table, tests, protocol, extra, curve_meta, qs, gap,
                            cost_markdown(everything, timing) + "\n" + trials_markdown(trials, runs))
    study_archs = [a for a in archs if a in searches]
    corrected = corrected_tests(tests, runs, protocol.test_overlap or 0.0)
    budget = aux_at_equal_budget(searches)
    verdict = verdicts_markdown(verdicts(table, corrected, study_table2(), runs, budget))
    text = text.replace("\n## Protocol\n", f"\n{verdict}\n\n## Protocol\n", 1)
    text = "\n\n".join([text.rstrip("\n"), reproduction_markdown(list(reproduced)),
                        margins_markdown(searches, study_archs, split_sizes(protocol.n_pairs, protocol.val_fraction)[1],
                                         robustness),
                        dependence_markdown(corrected, spread(runs, study_archs), protocol.test_overlap or 0.0,
                                            protocol.repeats),
                        budget_markdown(budget)]) + "\n"
    out = {
        "results.md": text.encode(),
        **metrics_files(summary(table, extra)),
        "metrics/results.json": _json(results(table, tests, extra, qs)),
        "plots/accuracy.csv": accuracy_csv(everything).encode(),
        "plots/runs.csv": runs_csv(runs, list(archs) + list(extras)).encode(),
        "plots/budget.csv": budget_csv(curves(searches, study_archs)).encode(),
        "plots/accuracy.png": png_bytes(fig_accuracy(everything, best)),
        "plots/boxplot.png": png_bytes(fig_boxplot(runs, best.split("_")[0])),
        "plots/curve.png": png_bytes(fig_curve(curve, curve_meta, protocol.epochs)),
        "plots/pairs.png": png_bytes(fig_pairs(*pairs)),
    }
    assert tuple(p for p in out if not p.startswith(f"{ACCURACY_DIR}/")) == OUTPUTS
    return out
