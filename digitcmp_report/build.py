"""Every output of the report stage, from the results it reads (no file writes here:
`stages/report.py` writes what `build_report` returns)."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Inputs:
    """Everything the report reads, read once by the report stage (stages/report.py)."""

    runs: Mapping[str, dict]  # arch → its runs JSON, the study's sixteen and the extras
    searches: Mapping[str, dict]  # arch → its search JSON
    protocol: Protocol
    curve_csv: str  # the curve stage's DVCLive history as CSV (Figure 2)
    curve: Mapping[str, Any]  # metrics/curve.json: what the curve stage trained
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]  # example pairs: images, classes, targets
    extras: Sequence[str] = ()  # rows below Table 2
    archs: Sequence[str] = ARCHITECTURES  # the study's
    conditions: Mapping[str, Any] | None = None  # the sixteen under the study's conditions (scripts.conditions)
    params: Mapping[str, Any] | None = None  # whose data draws `conditions` must share
    timing: Mapping[str, Any] | None = None  # seconds per training (bench.train_time)
    reproduced: Sequence[dict] = ()  # one record per host that ran scripts.reproduce
    robustness: Mapping[str, Any] | None = None  # the winners on further splits (scripts.robustness)
    trials: Mapping[str, Any] | None = None  # the validation-only trials of the tuned network (scripts.trials)


def build_report(inputs: Inputs) -> dict[str, bytes]:
    """Every output of the report (path relative to the project root → bytes). A section
    whose input is absent says so (or is left out)."""
    i = inputs
    runs, searches, archs, extras = i.runs, i.searches, i.archs, i.extras
    table = table2(runs, searches, archs)
    extra = table2(runs, searches, extras) if extras else None
    tests = comparisons(runs)
    qs = questions(runs)
    best = best_arch(table)
    everything = table if extra is None else pd.concat([table, extra])
    why_not = "no experiments/study_conditions.json" if i.conditions is None else \
        (compatible(i.conditions, i.params) if i.params is not None else None)
    gap = gap_markdown(None if why_not else gap_table(runs, i.conditions, study_table2(), archs), i.conditions, why_not)
    text = results_markdown(table, best, tests, i.protocol, extra, i.curve, qs, gap,
                            cost_markdown(everything, i.timing) + "\n" + trials_markdown(i.trials, runs))
    study_archs = [a for a in archs if a in searches]
    corrected = corrected_tests(tests, runs, i.protocol.test_overlap or 0.0)
    budget = aux_at_equal_budget(searches)
    verdict = verdicts_markdown(verdicts(table, corrected, study_table2(), runs, budget))
    text = text.replace("\n## Protocol\n", f"\n{verdict}\n\n## Protocol\n", 1)
    n_val = split_sizes(i.protocol.n_pairs, i.protocol.val_fraction)[1]
    text = "\n\n".join([text.rstrip("\n"), reproduction_markdown(list(i.reproduced)),
                        margins_markdown(searches, study_archs, n_val, i.robustness),
                        dependence_markdown(corrected, spread(runs, study_archs), i.protocol.test_overlap or 0.0,
                                            i.protocol.repeats),
                        budget_markdown(budget)]) + "\n"
    out = {
        "results.md": text.encode(),
        **metrics_files(summary(table, best, extra)),
        "metrics/results.json": _json(results(table, best, tests, extra, qs)),
        "plots/accuracy.csv": accuracy_csv(everything).encode(),
        "plots/runs.csv": runs_csv(runs, list(archs) + list(extras)).encode(),
        "plots/budget.csv": budget_csv(curves(searches, study_archs)).encode(),
        "plots/accuracy.png": png_bytes(fig_accuracy(everything, best)),
        "plots/boxplot.png": png_bytes(fig_boxplot(runs, best.split("_")[0])),
        "plots/curve.png": png_bytes(fig_curve(read_curve(i.curve_csv), i.curve, i.protocol.epochs)),
        "plots/pairs.png": png_bytes(fig_pairs(*i.pairs)),
    }
    assert tuple(p for p in out if not p.startswith(f"{ACCURACY_DIR}/")) == OUTPUTS
    return out
