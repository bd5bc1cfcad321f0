"""The report's tables, computed from the stages' JSON results: Table 2 beside the
study's, the significance tests (`comparisons`, `questions`), the metrics DVC shows
(`summary`), results.md's numbers as data (`results`) and the plots' CSV data. Pure functions; nothing is written here.

Significance (the study's §5 asks for t-tests and never ran them): for every family,
sharing vs nosharing (once with and once without the auxiliary loss) and aux vs noaux
(once with and once without sharing), i.e. four two-sample comparisons of the
retrained test accuracies per family, 16 in all, Holm-adjusted together (see
`digitcmp_report.stats`).
"""

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from digitcmp.training import registry
from digitcmp.files import csv_text
from digitcmp.training.models import ARCHITECTURES, FAMILIES
from digitcmp_report.gap import welch_from_stats
from digitcmp_report.labels import label
from digitcmp_report.stats import holm, paired_p, welch

# (test key, factor, level of the other factor, treatment arch suffix, control arch suffix)
COMPARISONS = (
    ("sharing_vs_nosharing_noaux", "sharing", "noaux", "sharing_noaux", "nosharing_noaux"),
    ("sharing_vs_nosharing_aux", "sharing", "aux", "sharing_aux", "nosharing_aux"),
    ("aux_vs_noaux_nosharing", "aux", "nosharing", "nosharing_aux", "nosharing_noaux"),
    ("aux_vs_noaux_sharing", "aux", "sharing", "sharing_aux", "sharing_noaux"),
)


def study_table2() -> pd.DataFrame:
    """The study's Table 2 (mean and std of 30 runs) indexed by our architecture names."""
    text = (Path(__file__).parent / "study_table2.csv").read_text()
    return pd.read_csv(io.StringIO(text)).set_index("arch")


# The keys every metrics/runs JSON has; any other key is an extra architecture's option.
RUN_KEYS = ("arch", "lr", "hidden", "lambda", "precision", "standardise", "test_acc", "train_acc", "digit_acc",
            "n_diverged", "mean", "std", "hosts")


def table2(runs: Mapping[str, dict], searches: Mapping[str, dict],
           archs: Sequence[str] = ARCHITECTURES, study: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per arch in `archs`' order: our mean/std (recomputed from the runs, sample
    std), the study's, the difference, run and divergence counts, chosen hyperparameters."""
    study = study_table2() if study is None else study
    rows = []
    for arch in archs:
        run, search = runs[arch], searches[arch]
        digit = run.get("digit_acc", [])  # models with digit heads only
        rows.append({
            "arch": arch,
            "mean": float(run["mean"]),  # the study stage's (the curve stage ranks by them)
            "std": float(run["std"]),
            "n_runs": len(run["test_acc"]),
            "n_diverged": int(run["n_diverged"]),
            "study_mean": float(study.loc[arch, "mean"]) if arch in study.index else math.nan,
            "study_std": float(study.loc[arch, "std"]) if arch in study.index else math.nan,
            "lr": run["lr"],
            "hidden": run["hidden"],
            "lambda": run["lambda"],
            "precision": run["precision"],
            "digit_acc": float(np.mean(digit)) if len(digit) else math.nan,
            "val_acc": search["best"]["val_acc"],
            "grid_points": len(search["grid"]),
            "grid_diverged": search["n_diverged"],
            "options": ", ".join(f"{k}={run[k]}" for k in run if k not in RUN_KEYS),
            "parameters": parameter_count(arch, run),
        })
    frame = pd.DataFrame(rows).set_index("arch")
    frame["diff"] = frame["mean"] - frame["study_mean"]
    return frame


def parameter_count(arch: str, run: Mapping[str, Any]) -> float:
    """Weights of `arch` as its runs were trained (their hidden and architecture options);
    NaN for a name this checkout does not know (runs from another version)."""
    if arch not in registry.NAMES:
        return math.nan
    model = registry.build(arch, int(run["hidden"]), **{k: run[k] for k in registry.options(arch) if k in run})
    return sum(p.numel() for p in model.parameters())


def best_arch(table: pd.DataFrame) -> str:
    """Highest mean test accuracy, ties to the earlier row: the rule the curve stage uses
    to pick Figure 2's model (`digitcmp.search.best_architecture`)."""
    return str(table["mean"].idxmax())


def comparisons(runs: Mapping[str, dict], families: Sequence[str] = FAMILIES) -> pd.DataFrame:
    """The 4 tests per family (see the module doc), with Holm-adjusted p over all of them."""
    rows = []
    for family in families:
        for key, factor, given, treated, control in COMPARISONS:
            a = runs[f"{family}_{treated}"]["test_acc"]
            b = runs[f"{family}_{control}"]["test_acc"]
            rows.append({"family": family, "test": key, "factor": factor, "given": given,
                         "a": f"{family}_{treated}", "b": f"{family}_{control}",
                         **welch(a, b), "p_paired": paired_p(a, b)})
    frame = pd.DataFrame(rows)
    frame["p_holm"] = holm(frame["p"].tolist())
    return frame


# The study's open questions, answered with the extra architectures:
# (key, question, a, b); a row is tested only when both architectures have runs.
QUESTIONS = (
    ("convolution", "convolution at equal depth", "conv2_sharing_aux", "deepmlp_sharing_aux"),
    ("depth_mlp", "depth without convolution", "deepmlp_sharing_aux", "mlp_sharing_aux"),
    ("depth_conv", "depth with convolution", "conv2_sharing_aux", "conv1_sharing_aux"),
    ("comparator", "reading the digit distributions", "probcmp_conv", "conv2_sharing_aux"),
    ("options", "§5 options (activation, dropout)", "conv2x_sharing_aux", "conv2_sharing_aux"),
    ("augmentation", "label-preserving augmentation", "probcmp_augment", "probcmp_conv"),
    ("batchnorm", "batch norm", "probcmp_conv", "probcmp_nobn"),
    ("lenet_pools", "our pools and draws, the public recipe as published", "lenet_digits_800",
     "published lenet_digits"),
    ("lenet_all_pairs", "the public recipe on all 1,000 train pairs", "lenet_digits", "lenet_digits_800"),
    ("lenet_additions", "our additions beyond the public recipe", "probcmp_augment", "lenet_digits"),
    ("lenet_comparator", "exact P(a ≤ b) and batch norm beyond the public recipe", "probcmp_conv",
     "lenet_digits"),
    ("width", "twice the channels (width 32)", "probcmp_wide", "probcmp_augment"),
    ("onecycle", "the one-cycle learning rate", "probcmp_onecycle", "probcmp_wide"),
    ("tta", "test-time augmentation", "probcmp_tta", "probcmp_onecycle"),
    ("tuned_levers", "the tuned network's levers together (width 32, one-cycle, TTA)", "probcmp_tta",
     "probcmp_augment"),
    ("tuned_beyond_lenet", "the tuned network beyond the public recipe", "probcmp_tta", "lenet_digits"),
)

# Results published elsewhere that a question compares with: name → (mean, sample std, runs, source).
PUBLISHED = {
    "published lenet_digits": (0.9826, 0.0034, 10, "puckvg/EE-559-Team (2021), full-MNIST pools, 800 fit pairs"),
}


def questions(runs: Mapping[str, dict]) -> pd.DataFrame:
    """Welch and paired t-tests of each question's a vs b (Δ = a − b); against a published
    result (`PUBLISHED`), Welch's test from its mean, std and run count, and no paired test."""
    rows = []
    for key, q, a, b in QUESTIONS:
        if a not in runs or (b not in runs and b not in PUBLISHED):
            continue
        x = runs[a]["test_acc"]
        if b in PUBLISHED:
            mean, std, n, _ = PUBLISHED[b]
            tests = {**welch_from_stats(float(np.mean(x)), float(np.std(x, ddof=1)), len(x), mean, std, n),
                     "p_paired": math.nan}
        else:
            tests = {**welch(x, runs[b]["test_acc"]), "p_paired": paired_p(x, runs[b]["test_acc"])}
        rows.append({"test": key, "question": q, "a": a, "b": b, **tests})
    return pd.DataFrame(rows)


def published_note(qs: pd.DataFrame) -> str:
    """The published results `qs` compares with, as a paragraph (empty if none)."""
    found = [f"{name}: {m:.4f} ± {sd:.4f} over {n} runs ({source})"
             for name, (m, sd, n, source) in PUBLISHED.items() if len(qs) and name in set(qs["b"])]
    return ("\n\nPublished results, tested by Welch's test from their mean, std and run count (no paired test: "
            f"other draws): {'; '.join(found)}.") if found else ""


def _num(value: Any) -> Any:
    """JSON-safe: NaN/inf → None, numpy scalars → Python numbers."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


INT_COLUMNS = ("n_runs", "n_diverged", "hidden", "grid_points", "grid_diverged", "parameters")


def value(row: pd.Series, key: str) -> Any:
    """A cell as a JSON-safe number; counts as ints (pandas rows upcast them to float)."""
    value = _num(row[key])
    return int(value) if key in INT_COLUMNS and value is not None else value


def _arch_entry(row: pd.Series) -> dict[str, Any]:
    return {k: value(row, k) for k in ("mean", "std", "n_diverged", "lr", "hidden", "lambda")}


def summary(table: pd.DataFrame, best: str, extras: pd.DataFrame | None = None) -> dict[str, Any]:
    """The metrics DVC shows, what users compare across experiments: `<arch>` → its `mean`
    and `std` of test accuracy, and `best`, the study's best of its sixteen (Table 2's bold
    row). Nothing else, so that `dvc metrics diff` is one line per changed number and
    `dvc exp show` stays as narrow as it can (`digitcmp_report.build` writes one file each)."""
    everything = table if extras is None else pd.concat([table, extras])
    out: dict[str, Any] = {arch: {"mean": _num(row["mean"]), "std": _num(row["std"])}
                           for arch, row in everything.iterrows()}
    out["best"] = best
    return out


def results(table: pd.DataFrame, best: str, tests: pd.DataFrame, extras: pd.DataFrame | None = None,
            qs: pd.DataFrame | None = None) -> dict[str, Any]:
    """results.md's numbers as data (metrics/results.json, not a declared DVC metric): per
    architecture mean, std, diverged runs and the chosen hyperparameters; the best; and
    `tests.<family>.<test>` with `diff` (of means), `p` (Welch), `p_holm`, `p_paired` and
    `g` (Hedges), unrounded."""
    out: dict[str, Any] = {arch: _arch_entry(row) for arch, row in table.iterrows()}
    for arch, row in (extras if extras is not None else pd.DataFrame()).iterrows():
        out[arch] = _arch_entry(row)
    out["best"] = {"arch": best, "mean": _num(table.loc[best, "mean"]), "std": _num(table.loc[best, "std"])}
    out["tests"] = {}
    for _, t in tests.iterrows():
        out["tests"].setdefault(t["family"], {})[t["test"]] = {
            k: _num(t[k]) for k in ("diff", "p", "p_holm", "p_paired", "g")}
    for _, t in (qs if qs is not None else pd.DataFrame()).iterrows():
        out["tests"].setdefault("beyond", {})[t["test"]] = {k: _num(t[k]) for k in ("diff", "p", "p_paired", "g")}
    return out


def _fmt(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6g}"


def accuracy_csv(table: pd.DataFrame) -> str:
    """arch, mean, std, lo/hi (mean ∓ std, for error bars) and the study's mean, in table order."""
    rows = [[label(arch), _fmt(r["mean"]), _fmt(r["std"]), _fmt(r["mean"] - r["std"]),
             _fmt(r["mean"] + r["std"]), _fmt(r["study_mean"])] for arch, r in table.iterrows()]
    return csv_text(["arch", "mean", "std", "lo", "hi", "study_mean"], rows)


def runs_csv(runs: Mapping[str, dict], archs: Sequence[str]) -> str:
    """Long format, one row per retraining: arch, run, test_acc."""
    rows = [[label(arch), i, _fmt(acc)] for arch in archs for i, acc in enumerate(runs[arch]["test_acc"])]
    return csv_text(["arch", "run", "test_acc"], rows)


def grid_axes(searches: Mapping[str, dict]) -> dict[str, list]:
    """The lr, hidden and λ values the grid searches actually ran (sorted), named as `markdown.Protocol`'s fields."""
    points = [p for s in searches.values() for p in s["grid"]]
    return {"lr": sorted({p["lr"] for p in points}), "hidden": sorted({p["hidden"] for p in points}),
            "lam": sorted({p["lambda"] for p in points if p["lambda"] is not None})}

