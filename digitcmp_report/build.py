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
from digitcmp_report.tables import (accuracy_csv, best_arch, comparisons, questions, results, runs_csv, study_table2,
                                    summary, table2)

OUTPUTS = (
    "results.md",
    "metrics/summary.json",
    "metrics/results.json",
    "plots/accuracy.csv",
    "plots/runs.csv",
    "plots/accuracy.png",
    "plots/boxplot.png",
    "plots/curve.png",
    "plots/pairs.png",
)


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode()


def build_report(runs: Mapping[str, dict], searches: Mapping[str, dict], protocol: Protocol,
                 curve_csv: str, curve_meta: Mapping[str, Any],
                 pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                 extras: Sequence[str] = (), archs: Sequence[str] = ARCHITECTURES,
                 conditions: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                 timing: Mapping[str, Any] | None = None,
                 trials: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """Every output of the report (path relative to the project root → bytes), from the
    runs and searches of the study's `archs` plus `extras` (rows below Table 2) and, for
    the gap to the study's Table 2, the sixteen under the study's `conditions` (made with
    `params`' data draws, or the section says why not) and, for what the best models cost,
    the seconds per training of `bench.train_time` (`timing`), and the validation-only
    trials the tuned network was chosen on (`trials`, `scripts.trials`)."""
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
    out = {
        "results.md": results_markdown(table, tests, protocol, extra, curve_meta, qs, gap,
                                       cost_markdown(everything, timing) + trials_markdown(trials, runs)).encode(),
        "metrics/summary.json": _json(summary(table, extra)),
        "metrics/results.json": _json(results(table, tests, extra, qs)),
        "plots/accuracy.csv": accuracy_csv(everything).encode(),
        "plots/runs.csv": runs_csv(runs, list(archs) + list(extras)).encode(),
        "plots/accuracy.png": png_bytes(fig_accuracy(everything, best)),
        "plots/boxplot.png": png_bytes(fig_boxplot(runs, best.split("_")[0])),
        "plots/curve.png": png_bytes(fig_curve(curve, curve_meta, protocol.epochs)),
        "plots/pairs.png": png_bytes(fig_pairs(*pairs)),
    }
    assert tuple(out) == OUTPUTS
    return out
