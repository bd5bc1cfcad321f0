"""The pipeline through the real DVC CLI, on a tiny profile in a temporary git repo."""

import hashlib
import json
import shutil

import pytest

from digitcmp.training.models import ARCHITECTURES
from tests.dvcproject import ROOT, TINY, clone, dvc, env, ran_stages, run, write_params, study_argv


def digest(path):
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_repro_writes_every_output_and_a_second_repro_runs_nothing(base_run, tmp_path):
    base, first_run = base_run
    assert ran_stages(first_run) >= {"prepare", "curve", "report"} | {f"study@{a}" for a in ARCHITECTURES}
    for arch in ARCHITECTURES:
        search = json.loads((base / f"metrics/search/{arch}.json").read_text())
        runs = json.loads((base / f"metrics/runs/{arch}.json").read_text())
        assert len(search["grid"]) == 1 and search["best"]["hidden"] == 16
        assert len(runs["test_acc"]) == 2 and 0 <= runs["mean"] <= 1
        assert runs["precision"] == search["precision"] == "fp32"  # train.precision: fp32, the default
    assert {f"{a}.json" for a in ARCHITECTURES} <= {p.name for p in (base / "metrics/accuracy").iterdir()}
    copy = clone(base, tmp_path / "copy")  # the shared base stays read-only
    again = dvc(copy, "repro")
    assert ran_stages(again.stdout) == set()
    assert "up to date" in dvc(copy, "status").stdout


def test_lambda_list_experiment(repo):
    """A list on the command line, for one target (the full rerun: tests/test_readme.py)."""
    out = dvc(repo, "exp", "run", "-S", "lambda=[0.5,1.0]", "study@mlp_sharing_aux")
    assert ran_stages(out.stdout) == {"study@mlp_sharing_aux"}
    grid = json.loads((repo / "metrics/search/mlp_sharing_aux.json").read_text())["grid"]
    assert sorted(p["lambda"] for p in grid) == [0.5, 1.0]


def test_lr_is_a_dependency_of_the_sixteen_studies_only(repo):
    write_params(repo, {**TINY, "lr": [1.0e-2]})
    changed = set(json.loads(dvc(repo, "status", "--json").stdout))
    assert changed == {f"study@{a}" for a in ARCHITECTURES} | {"check"}


def test_an_extras_grid_is_a_dependency_of_that_extra_and_the_report_only(repo):
    deeper = {**TINY["extras"]["deepmlp_sharing_aux"], "depth": 3}
    write_params(repo, {**TINY, "extras": {**TINY["extras"], "deepmlp_sharing_aux": deeper}})
    changed = set(json.loads(dvc(repo, "status", "--json").stdout))
    assert changed == {"check", "extra@deepmlp_sharing_aux", "report"}  # not curve: extras' results live apart


def test_precision_is_a_dependency_of_every_training_stage(repo):
    write_params(repo, {**TINY, "train": {**TINY["train"], "precision": "bf16"}})
    changed = set(json.loads(dvc(repo, "status", "--json").stdout))
    extras = {f"extra@{a}" for a in TINY["extras"]}
    assert changed == {f"study@{a}" for a in ARCHITECTURES} | extras | {"check", "curve"}


def test_fresh_clone_regenerates_data_byte_identically_and_skips_training(repo):
    before = digest(repo / "data")
    shutil.rmtree(repo / "data" / "prepared")  # data/mnist/MNIST/raw/README.md is in git
    shutil.rmtree(repo / ".dvc" / "cache")
    shutil.rmtree(repo / ".cache", ignore_errors=True)
    out = dvc(repo, "repro")
    assert ran_stages(out.stdout) == {"prepare"}
    assert digest(repo / "data") == before


# Through `dvc exp run`: a value out of range and one of the wrong type (every key's values
# and messages: tests/test_params.py, without DVC).
@pytest.mark.parametrize("override, key", [
    ("lambda=-1", "lambda"),
    ("lr=abc", "lr"),
])
def test_bad_value_stops_with_one_line_and_no_partial_output(repo, override, key):
    out = dvc(repo, "exp", "run", "-S", override, check=False)
    assert out.returncode != 0
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("error: ")]
    assert len(set(errors)) == 1, out.stdout + out.stderr
    assert errors[0].startswith(f"error: {key}: ") and "allowed:" in errors[0]
    assert not list(repo.glob("metrics/**/.*.tmp"))


def test_misspelt_key(repo):
    refused = dvc(repo, "exp", "run", "-S", "lamda=1", check=False)
    assert refused.returncode != 0 and "lamda" in refused.stdout + refused.stderr
    added = dvc(repo, "exp", "run", "-S", "+lamda=1", "-S", "lambda=0.75", check=False)
    assert added.returncode != 0
    assert "error: lamda: unknown key (did you mean 'lambda'?)" in added.stdout + added.stderr


def test_workers_and_backend_do_not_change_results(repo, tmp_path):
    outputs = []
    # dask: tests/test_cluster.py compares its bytes with fork's on a real scheduler and workers
    for i, (workers, backend) in enumerate([(1, "fork"), (2, "fork"), (2, "spawn")]):
        write_params(repo, {**TINY, "lambda": [0.25, 0.5], "train": {**TINY["train"], "workers": workers,
                                                                    "backend": backend}})
        cache = {"DIGITCMP_CACHE": str(tmp_path / f"cache{i}")}  # a fresh cache: every run really trains
        run(repo, *study_argv("shallow_sharing_aux"), env={**env(repo), **cache})
        outputs.append([(repo / f"metrics/{d}/shallow_sharing_aux.json").read_bytes() for d in ("search", "runs")])
    assert outputs[0] == outputs[1] == outputs[2]


def test_this_repository_is_up_to_date_after_prepare(tmp_path):
    """A fresh clone of this repo: `dvc repro prepare` regenerates data/ and DVC then
    finds every training stage up to date (main carries a full run's dvc.lock)."""
    if not (ROOT / "dvc.lock").exists():
        pytest.fail("dvc.lock is not committed: run the full `dvc repro` and commit its results")
    repo = tmp_path / "clone"
    run(ROOT, "git", "clone", "-q", str(ROOT), str(repo))
    dvc(repo, "repro", "prepare")
    assert "up to date" in dvc(repo, "status").stdout


def test_precision_bench_pairs_fp32_and_bf16_at_the_winner(repo):
    too_many = run(repo, "python", str(ROOT / "bench" / "precision.py"), "conv1_sharing_aux", "--repeats", "3",
                   check=False)
    assert too_many.returncode == 2 and "allowed: 2 to train.repeats = 2" in too_many.stderr
    out = run(repo, "python", str(ROOT / "bench" / "precision.py"), "conv1_sharing_aux").stdout
    header, row, pooled = out.strip().splitlines()
    assert header.split()[:3] == ["architecture", "fp32", "bf16"]
    assert row.split()[0] == "conv1_sharing_aux" and row.split()[-1] == "same"  # one winner, two precisions
    fp32, bf16, diff = (float(v) for v in row.split()[1:4])
    assert diff == pytest.approx(bf16 - fp32, abs=1e-4) and pooled.startswith("all")


def test_compare_runs_pairs_two_revisions(repo):
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "--allow-empty", "-m", "baseline")
    moved = repo / "metrics/runs/mlp_sharing_aux.json"
    runs = json.loads(moved.read_text())
    moved.write_text(json.dumps({**runs, "test_acc": [a + 0.01 for a in runs["test_acc"]]}))
    out = run(repo, "python", str(ROOT / "scripts" / "compare_runs.py"), "HEAD").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in out[1:-1]}
    assert set(rows) == {"mlp_sharing_aux", "all"}
    assert float(rows["mlp_sharing_aux"][3]) == pytest.approx(0.01)  # workspace − HEAD
    assert out[-1].startswith("unchanged, every run identical: ")
    same = set(out[-1].split("(")[1].rstrip(")").split(", "))
    assert same >= set(ARCHITECTURES) - {"mlp_sharing_aux"} and "mlp_sharing_aux" not in same
    refused = run(repo, "python", str(ROOT / "scripts" / "compare_runs.py"), "no-such-rev", check=False)
    assert refused.returncode == 2 and refused.stderr.startswith("error: no-such-rev: not a git revision")
