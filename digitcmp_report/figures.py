"""The report's figures as PNG bytes: Table 2 as a plot, Figure 3 (box plots of one
family's variants), Figure 2 (the learning curve) and example pairs."""

import io
import math
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless, and identical bytes on every machine with the same versions

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from digitcmp.errors import UserError  # noqa: E402
from digitcmp.training.models import VARIANTS  # noqa: E402
from digitcmp_report.labels import FAMILY_LABELS, VARIANT_LABELS, label, plural  # noqa: E402
from digitcmp_report.tables import study_table2  # noqa: E402

PNG_DPI = 120
# No Software/date chunks in the PNGs: reruns on the same versions give identical bytes.
PNG_METADATA = {"Software": None}


def png_bytes(fig: plt.Figure) -> bytes:
    """The figure as PNG without timestamp/software chunks; closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, metadata=PNG_METADATA)
    plt.close(fig)
    return buf.getvalue()


def fig_accuracy(table: pd.DataFrame, best: str) -> plt.Figure:
    """Mean ± std per architecture (ours, filled) beside the study's (hollow), Table 2's order top
    down; `best` in bold, as in Table 2 (the best of the study's sixteen, not of the extras)."""
    n = len(table)
    fig, ax = plt.subplots(figsize=(8, 0.32 * n + 1.4), layout="constrained")
    y = np.arange(n)[::-1]
    ax.errorbar(table["mean"], y + 0.15, xerr=table["std"], fmt="o", color="C0", capsize=3, label="ours")
    has_study = table["study_mean"].notna().to_numpy()
    ax.errorbar(table["study_mean"][has_study], (y - 0.15)[has_study], xerr=table["study_std"][has_study],
                fmt="o", mfc="white", color="C1", capsize=3, label="study (Table 2)")
    ax.set_yticks(y, [label(a) for a in table.index])
    for tick, arch in zip(ax.get_yticklabels(), table.index):
        tick.set_fontweight("bold" if arch == best else "normal")
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("test accuracy (mean ± std)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Test accuracy per architecture (in bold: our best of the study's 16)")
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
    lam = meta["lambda"]
    hp = f"lr {meta['lr']:g}, hidden {meta['hidden']}" + (f", λ {lam:g}" if lam is not None else "")
    ax.set_title(f"{label(meta['arch'])} ({hp}): accuracy over epochs")
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

