"""The report: Table 2 beside the study's, the t-tests, the figures and the offline plots page."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from digitcmp.errors import UserError
from digitcmp_report.layers import describe_layers
from digitcmp.live import NAMES as LIVE_NAMES, live_files, tsv_path
from digitcmp.training.models import ARCHITECTURES, FAMILIES
from digitcmp.training.registry import build, uses_lambda
from digitcmp_report import markdown, stats as st, tables
from digitcmp_report import formats as fmt
from digitcmp_report.build import OUTPUTS, Inputs, build_report
from digitcmp_report.labels import label
from tests.dvcproject import dvc

N_RUNS = 30
PROTOCOL = markdown.Protocol(source="mnist5k", n_pairs=1000, seed=0, epochs=25, batch_size=100, val_fraction=0.3,
                           repeats=N_RUNS, lr=[1e-5, 1e-3, 1e-1], hidden=[50, 100, 200, 300],
                           lam=[0.25, 0.5, 0.75, 1.0])


def synthetic_runs(seed: int = 1, archs=ARCHITECTURES) -> tuple[dict, dict]:
    """metrics/runs and metrics/search JSON as the pipeline writes them, with test
    accuracies drawn around the study's Table 2 (rounded like accuracies on 1,000 pairs)."""
    study = tables.study_table2()
    rng = np.random.default_rng(seed)
    runs, searches = {}, {}
    for arch in archs:
        mean, std = (study.loc[arch, "mean"], study.loc[arch, "std"]) if arch in study.index else (0.8, 0.01)
        acc = np.clip(rng.normal(mean, std, N_RUNS), 0, 1).round(3).tolist()
        lam = 0.5 if arch in ARCHITECTURES and uses_lambda(arch) else None
        runs[arch] = {"arch": arch, "lr": 1e-3, "hidden": 100, "lambda": lam, "precision": "fp32", "test_acc": acc,
                      "train_acc": [1.0] * N_RUNS, "n_diverged": 0,
                      "mean": float(np.mean(acc)), "std": float(np.std(acc, ddof=1))}
        if lam is not None:
            runs[arch]["digit_acc"] = [0.9] * N_RUNS
        grid = [{"lr": lr, "hidden": h, "lambda": lam, "val_acc": 0.8, "train_acc": 0.9,
                 "diverged": lr == 0.1, "epochs_run": 25} for lr in PROTOCOL.lr for h in PROTOCOL.hidden]
        searches[arch] = {"arch": arch, "grid": grid, "n_diverged": 4,
                          "best": {"lr": 1e-3, "hidden": 100, "lambda": lam, "val_acc": 0.81}}
    return runs, searches


CURVE_CSV = "epoch,train_acc,val_acc\n" + "".join(
    f"{e},{1 - 0.5 * math.exp(-e / 5):.4f},{0.83 - 0.33 * math.exp(-e / 5):.4f}\n" for e in range(51))
CURVE_META = {"arch": "conv2_sharing_aux", "lr": 1e-3, "hidden": 100, "lambda": 0.5, "epochs": 50}


def pairs(n: int = 8):
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 10, (n, 2))
    return (rng.uniform(0, 255, (n, 2, 14, 14)).astype(np.float32), classes,
            (classes[:, 0] <= classes[:, 1]).astype(np.int64))


def inputs(runs, searches, **more) -> Inputs:
    return Inputs(runs=runs, searches=searches, protocol=PROTOCOL, curve_csv=CURVE_CSV, curve=CURVE_META,
                  pairs=pairs(), **more)


@pytest.fixture(scope="module")
def built():
    runs, searches = synthetic_runs()
    return runs, build_report(inputs(runs, searches))


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The cells of the first table after `heading`."""
    section = markdown.split(heading, 1)[1]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    rows, started = [], False
    for ln in section.splitlines():
        if ln.startswith("|"):
            started = True
            rows.append([c.strip().strip("*") for c in ln.strip("|").split("|")])
        elif started:
            break
    assert lines, heading
    return rows[2:]  # header and rule


def test_results_md_has_table2_with_ours_and_the_studys_numbers(built):
    runs, out = built
    md = out["results.md"].decode()
    rows = table_rows(md, "## Table 2")
    study = tables.study_table2()
    assert [r[0] for r in rows] == [label(a) for a in ARCHITECTURES]  # all 16, the study's order
    for arch, row in zip(ARCHITECTURES, rows):
        acc = np.asarray(runs[arch]["test_acc"])
        assert row[1] == f"{acc.mean():.4f} ± {acc.std(ddof=1):.4f}"
        assert row[2] == f"{study.loc[arch, 'mean']:.4f} ± {study.loc[arch, 'std']:.4f}"
        assert float(row[3]) == pytest.approx(acc.mean() - study.loc[arch, "mean"], abs=6e-5)
        assert row[4] == str(N_RUNS)


def test_study_table2_is_the_papers():
    study = tables.study_table2()
    assert list(study.index) == list(ARCHITECTURES)
    assert study.loc["conv2_sharing_aux"].tolist() == [0.8319, 0.0111]
    assert study.loc["shallow_nosharing_noaux"].tolist() == [0.7188, 0.0584]
    assert study["mean"].idxmax() == "conv2_sharing_aux"


def test_t_tests_equal_a_direct_scipy_welch_on_the_stored_runs(built):
    runs, out = built
    tests = json.loads(out["metrics/results.json"])["tests"]
    assert set(tests) == set(FAMILIES) | {"beyond"}  # beyond: the open questions (conv2 vs conv1 here)
    md = out["results.md"].decode()
    for family in FAMILIES:
        assert set(tests[family]) == {k for k, *_ in tables.COMPARISONS}
        for key, _, _, treated, control in tables.COMPARISONS:
            a = runs[f"{family}_{treated}"]["test_acc"]
            b = runs[f"{family}_{control}"]["test_acc"]
            direct = stats.ttest_ind(a, b, equal_var=False)
            got = tests[family][key]
            assert got["p"] == pytest.approx(direct.pvalue, rel=1e-12)
            assert got["diff"] == pytest.approx(np.mean(a) - np.mean(b), abs=1e-12)
            assert got["p_paired"] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
            assert got["g"] == pytest.approx(st.hedges_g(a, b), rel=1e-12)
            row = f"| {direct.statistic:.2f} | {direct.df:.1f} | {fmt.p_value(direct.pvalue)} |"
            assert row in md  # t, df and p in results.md's significance table
    all_p = [tests[f][k]["p"] for f in FAMILIES for k, *_ in tables.COMPARISONS]
    all_holm = [tests[f][k]["p_holm"] for f in FAMILIES for k, *_ in tables.COMPARISONS]
    assert all_holm == pytest.approx(st.holm(all_p))


def test_holm_matches_the_textbook_example():
    # Holm (1979)-style: sorted p × (m, m-1, ...), made monotone, capped at 1; NaN ignored.
    got = st.holm([0.01, 0.04, 0.03, 0.005, math.nan])
    assert got[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(got[4])


def test_declared_metrics_are_means_stds_and_the_best_only(built):
    runs, out = built
    best = max(ARCHITECTURES, key=lambda a: runs[a]["mean"])
    assert json.loads(out["metrics/best.json"]) == {"best": best}
    files = [p for p in out if p.startswith("metrics/accuracy/")]
    assert files == [f"metrics/accuracy/{arch}.json" for arch in runs]  # Table 2's order, then the extras
    for arch in runs:
        assert json.loads(out[f"metrics/accuracy/{arch}.json"]) == {"mean": pytest.approx(np.mean(runs[arch]["test_acc"])),
                         "std": pytest.approx(np.std(runs[arch]["test_acc"], ddof=1))}


def test_small_p_values_print_as_numbers_and_near_alpha_keep_four_decimals():
    assert fmt.p_value(3.2e-7) == "3.2e-07" and fmt.p_value(0.01234) == "0.0123" and fmt.p_value(None) == "—"
    assert fmt.p_value(0.0496) == "0.0496" and fmt.p_value(0.0001) == "0.0001" and fmt.p_value(9.9e-5) == "9.9e-05"
    assert fmt.p_value(math.nan) == "—"


def test_every_p_value_in_results_md_is_written_one_way(built):
    md = built[1]["results.md"].decode()
    written = re.findall(r"\bp = (\S+?)(?=[,;)]|\s)", md)
    assert written, "no p-value found"
    for p in written:
        assert re.fullmatch(r"[01]\.\d{4}|[1-9]\.\de-\d\d|—", p), p
    assert "< 0.0001" not in md


def test_accuracy_figure_bolds_tables_best_not_a_better_extra():
    from digitcmp_report.figures import fig_accuracy

    runs, searches = synthetic_runs(archs=list(ARCHITECTURES) + ["deepmlp_sharing_aux"])
    runs["deepmlp_sharing_aux"]["mean"] = 0.99
    table = tables.table2(runs, searches)
    everything = pd.concat([table, tables.table2(runs, searches, ["deepmlp_sharing_aux"])])
    best = tables.best_arch(table)
    fig = fig_accuracy(everything, best)
    bold = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == [label(best)]


def test_results_data_has_the_hyperparameters_and_tests(built):
    runs, out = built
    data = json.loads(out["metrics/results.json"])
    for arch in ARCHITECTURES:
        assert data[arch]["mean"] == pytest.approx(np.mean(runs[arch]["test_acc"]))
        assert isinstance(data[arch]["n_diverged"], int) and isinstance(data[arch]["hidden"], int)
        assert data[arch]["lambda"] == (0.5 if uses_lambda(arch) else None)
    best = max(ARCHITECTURES, key=lambda a: runs[a]["mean"])
    assert data["best"] == {"arch": best, "mean": runs[best]["mean"], "std": runs[best]["std"]}
    assert set(data["tests"]) >= set(FAMILIES)


def test_every_output_is_written_and_pngs_are_byte_identical_on_rerun(built):
    runs, out = built
    assert tuple(p for p in out if not p.startswith("metrics/accuracy/")) == OUTPUTS
    for path, blob in out.items():
        if path.endswith(".png"):
            assert blob.startswith(b"\x89PNG\r\n\x1a\n")
            assert b"Software" not in blob and b"tIME" not in blob
    runs2, searches2 = synthetic_runs()
    again = build_report(inputs(runs2, searches2))
    assert again == out


def test_csv_plot_data(built):
    runs, out = built
    acc = out["plots/accuracy.csv"].decode().splitlines()
    assert acc[0] == "arch,mean,std,lo,hi,study_mean"
    assert [ln.split(",")[0] for ln in acc[1:]] == [label(a) for a in ARCHITECTURES]
    long = out["plots/runs.csv"].decode().splitlines()
    assert long[0] == "arch,run,test_acc"
    assert len(long) == 1 + N_RUNS * len(ARCHITECTURES)
    assert long[1] == f"Shallow_NOsharing_NOaux,0,{runs['shallow_nosharing_noaux']['test_acc'][0]:.6g}"


def test_extras_get_their_own_rows_below_table2():
    runs, searches = synthetic_runs(archs=list(ARCHITECTURES) + ["deepmlp_sharing_aux"])
    runs["deepmlp_sharing_aux"].update(activation="tanh", dropout=0.25, **{"lambda": 0.5})  # an extra: options
    out = build_report(inputs(runs, searches, extras=["deepmlp_sharing_aux"]))
    md = out["results.md"].decode()
    assert len(table_rows(md, "## Table 2")) == 16
    extra = table_rows(md, "Beyond the study")
    assert [r[0] for r in extra] == ["deepmlp_sharing_aux"]
    assert extra[0][2] == "—"  # no study number
    hyper = table_rows(md, "## Chosen hyperparameters")
    assert hyper[-1][:6] == ["deepmlp_sharing_aux", "0.001", "100", "0.5", "fp32", "activation=tanh, dropout=0.25"]
    assert hyper[0][5] == "—"
    assert json.loads(out["metrics/accuracy/deepmlp_sharing_aux.json"])["mean"] == pytest.approx(np.mean(runs["deepmlp_sharing_aux"]["test_acc"]))
    assert "deepmlp_sharing_aux" in out["plots/runs.csv"].decode()


def test_best_model_layers_are_the_studys_table3():
    rows = describe_layers(build("conv2_sharing_aux", 100))
    shapes = [(layer, shape) for _, layer, shape, _ in rows]
    assert shapes == [
        ("Conv2d", "1 × 16 × 5 × 5"), ("Conv2d", "16 × 32 × 3 × 3"), ("Conv2d", "32 × 64 × 3 × 3"),
        ("MaxPool2d", "2 × 2, stride 2"), ("Conv2d", "64 × 128 × 2 × 2"), ("Linear", "512 × 10"),
        ("Concatenation", "features of both digits"), ("Linear", "1024 × 100"), ("Linear", "100 × 2"),
    ]


def test_missing_or_damaged_results_name_the_file_and_the_stage(tmp_path, monkeypatch):
    from stages.report import read_results

    for name in ("dvc.yaml", "params.yaml"):  # where the stage finds the study's outputs
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics/runs").mkdir(parents=True)
    with pytest.raises(UserError, match=r"^metrics/runs/conv2_sharing_aux.json: missing; run `dvc repro study@conv2_sharing_aux`"):
        read_results("runs", ["conv2_sharing_aux"])
    with pytest.raises(UserError, match=r"^metrics/extras/runs/probcmp_conv.json: missing; run `dvc repro extra@probcmp_conv`"):
        read_results("runs", ["probcmp_conv"])
    (tmp_path / "metrics/runs/mlp_sharing_aux.json").write_text("{}")
    with pytest.raises(UserError, match=r"^metrics/runs/mlp_sharing_aux.json: mean is None"):
        read_results("runs", ["mlp_sharing_aux"])


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
def test_nan_statistics_become_null_not_invalid_json():
    runs, searches = synthetic_runs()
    runs["mlp_sharing_aux"]["test_acc"] = [0.75] * N_RUNS  # no spread in either group:
    runs["mlp_nosharing_aux"]["test_acc"] = [0.75] * N_RUNS  # t and p are undefined
    for arch in ("mlp_sharing_aux", "mlp_nosharing_aux"):
        runs[arch].update(mean=0.75, std=0.0)
    table, tests = tables.table2(runs, searches), tables.comparisons(runs)
    data = tables.results(table, tables.best_arch(table), tests)
    json.dumps(data, allow_nan=False)
    assert data["tests"]["mlp"]["sharing_vs_nosharing_aux"]["p"] is None
    assert not re.search(r"\bnan\b", markdown.tests_markdown(tests), re.IGNORECASE)


def test_markdown_has_no_nan_text(built):
    _, out = built
    assert not re.search(r"\bnan\b", out["results.md"].decode(), re.IGNORECASE)


# --- The plots DVC shows: declared in dvc.yaml, rendered offline ------------------------

ROOT = Path(__file__).resolve().parent.parent
DVC = str(Path(sys.executable).parent / "dvc")


def declared_plots() -> list:
    """dvc.yaml's top-level `plots:` list."""
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]


def plot_files(plots: list) -> set[str]:
    """Every file a `plots:` list reads: bare paths, and the files of each y mapping."""
    files = set()
    for entry in plots:
        if isinstance(entry, str):
            files.add(entry)
            continue
        (name, spec), = entry.items()
        y = (spec or {}).get("y")
        files |= set(y) if isinstance(y, dict) else {name}
    return files


def test_every_declared_plot_is_a_report_or_curve_output():
    files = plot_files(declared_plots())
    curve = {str(tsv_path(name)) for name in LIVE_NAMES}  # the curve stage's, through DVCLive
    assert files <= set(OUTPUTS) | curve
    assert {"plots/accuracy.png", "plots/boxplot.png", "plots/curve.png", "plots/pairs.png",
            "plots/accuracy.csv", "plots/runs.csv", *curve} <= files


def check_offline_page(page_dir: Path, plots: list, revisions: int = 1) -> None:
    """`dvc plots show`'s page: no script or link from the network, Vega inlined, every
    declared plot on it (a vegaEmbed call per data plot, a local image per PNG and revision)."""
    html = (page_dir / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", html, re.IGNORECASE)
    remote = [tag for tag in scripts if re.search(r"\bsrc\s*=\s*[\"']?\s*(https?:)?//", tag, re.IGNORECASE)]
    assert remote == []
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", html, re.IGNORECASE)
    assert "cdn.jsdelivr" not in html
    for package in ("vega@", "vega-lite@", "vega-embed@"):  # the libraries are inlined
        assert f'<script data-package="{package}' in html
    assert html.count("vegaEmbed('#") == sum(not isinstance(p, str) for p in plots)
    images = re.findall(r'<img src="([^"]+)"', html.split("<h1>digitcmp", 1)[1])  # past the inlined libraries
    assert len(images) == revisions * sum(isinstance(p, str) and p.endswith(".png") for p in plots)
    assert all((page_dir / src).is_file() for src in images)


def test_dvc_plots_show_page_loads_no_script_from_the_network(tmp_path, built):
    _, out = built
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run([DVC, "init", "--no-scm", "-q"], cwd=tmp_path, check=True, env=env)
    # A throwaway project with our config, templates, committed page and plots, and the report's outputs.
    for name in (".dvc/config", ".dvc/plots_page.html"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / ".dvc" / "plots", tmp_path / ".dvc" / "plots")
    plots = declared_plots()
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"plots": plots}, allow_unicode=True))
    history = [{"epoch": int(e), "train_acc": float(t), "val_acc": float(v)}
               for e, t, v in (line.split(",") for line in CURVE_CSV.splitlines()[1:])]
    for path, blob in {**out, **live_files(history)}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(blob)
    done = subprocess.run([DVC, "plots", "show", "-o", "page"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)
    assert "failed" not in done.stderr + done.stdout
    check_offline_page(tmp_path / "page", plots)


# --- The real pipeline on the tiny profile (tests/conftest.py: base_run, repo) -----------


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # 2 runs of 60 pairs can tie
def test_tiny_repro_writes_every_declared_plot_and_table2(base_run):
    base, output = base_run
    assert "Running stage 'report'" in output
    for path in plot_files(declared_plots()) | set(OUTPUTS):
        assert (base / path).is_file(), path
    md = (base / "results.md").read_text()
    assert len(table_rows(md, "## Table 2")) == 16
    data = json.loads((base / "metrics/results.json").read_text())
    for family in FAMILIES:  # the stored runs, tested directly
        for key, _, _, treated, control in tables.COMPARISONS:
            a = json.loads((base / f"metrics/runs/{family}_{treated}.json").read_text())["test_acc"]
            b = json.loads((base / f"metrics/runs/{family}_{control}.json").read_text())["test_acc"]
            p = stats.ttest_ind(a, b, equal_var=False).pvalue
            got = data["tests"][family][key]["p"]
            assert (got is None and math.isnan(p)) or got == pytest.approx(p, rel=1e-12)


def test_tiny_repro_dvc_plots_show_works_offline(repo):
    assert not (repo / "build").exists()  # nothing built: the page is committed
    out = dvc(repo, "plots", "show", "-o", "page")
    assert "failed" not in out.stdout + out.stderr
    check_offline_page(repo / "page", declared_plots())
    # dvc plots diff against the committed run draws the same page, one colour per revision
    diff = dvc(repo, "plots", "diff", "HEAD", "-o", "diffpage")
    assert "failed" not in diff.stdout + diff.stderr
    check_offline_page(repo / "diffpage", declared_plots(), revisions=2)


def test_open_questions_are_welch_and_paired_tests_with_an_answer():
    from scipy import stats

    rng = np.random.default_rng(0)
    means = {"conv2_sharing_aux": 0.87, "deepmlp_sharing_aux": 0.8695, "mlp_sharing_aux": 0.84,
             "conv1_sharing_aux": 0.86}
    runs = {a: {"test_acc": list(rng.normal(m, 0.01, 30))} for a, m in means.items()}
    qs = tables.questions(runs)
    assert list(qs["test"]) == ["convolution", "depth_mlp", "depth_conv"]  # no extras without runs
    for _, row in qs.iterrows():
        a, b = runs[row["a"]]["test_acc"], runs[row["b"]]["test_acc"]
        assert row["p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
        assert row["p_paired"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    text = markdown.questions_markdown(qs)
    assert "**Depth or convolution?**" in text and "depth explains it" in text


def test_paired_change_sees_a_shift_that_the_spread_hides():
    rng = np.random.default_rng(0)
    base = rng.normal(0.85, 0.015, 30)
    shifted = base + 0.003 + rng.normal(0, 0.001, 30)
    winner = {"lr": 1e-3, "hidden": 100, "lambda": None}
    before = {"a": {"test_acc": base.tolist(), **winner}, "b": {"test_acc": base.tolist(), **winner}}
    after = {"a": {"test_acc": shifted.tolist(), **winner}, "b": {"test_acc": base.tolist(), **winner, "hidden": 50}}
    table = st.paired_change(before, after)
    assert list(table) == ["a", "b", "all"]
    assert table["a"]["p"] < 1e-6 and 0.002 < table["a"]["diff"] < 0.004
    assert st.welch(shifted, base)["p"] > 0.05  # unpaired, the same shift is lost in the spread
    assert table["b"]["diff"] == 0 and math.isnan(table["b"]["p"])
    assert table["a"]["same_winner"] and not table["b"]["same_winner"] and not table["all"]["same_winner"]


def test_paired_change_needs_equally_many_runs():
    with pytest.raises(UserError, match="a: 3 runs before, 2 after"):
        st.paired_change({"a": {"test_acc": [0.8, 0.9, 0.85]}}, {"a": {"test_acc": [0.8, 0.9]}})
