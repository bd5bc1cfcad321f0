"""The README's first experiment, run line by line as written, on the tiny profile: the
experiment, `dvc exp diff HEAD <exp>` showing the changed means, the plots, the scripts
(the comparison within 120 columns for three experiments) and the way back to HEAD."""

import json
import re
import subprocess
import sys

from digitcmp.training.models import ARCHITECTURES
from digitcmp.training.registry import NAMES
from tests.dvcproject import ROOT, TINY, clone, dvc, env, ran_stages

AUX = "_aux.json"


def first_experiment() -> list[str]:
    """The commands of the README's first indented block under `## Experiments`."""
    section = (ROOT / "README.md").read_text().split("## Experiments", 1)[1]
    block = re.search(r"\n\n((?:    \S.*\n)+)", section).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines()]


def shell(repo, command: str) -> subprocess.CompletedProcess:
    """One README line in the project copy, `.venv/bin/python` being this interpreter and
    the scripts this checkout's."""
    e = {**env(repo), "PYTHONPATH": f"{repo}:{ROOT}"}
    command = command.replace(".venv/bin/python", sys.executable)
    done = subprocess.run(["bash", "-c", command], cwd=repo, env=e, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def lambda_reaches_only_the_aux_models(repo, output: str) -> None:
    """After `dvc exp run -S lambda=0.75`: the eight _aux studies (and what reads them) ran
    with λ = 0.75 alone, and DVC's metrics diff shows one line per changed number."""
    aux = [a for a in ARCHITECTURES if a.endswith("_aux")]
    assert ran_stages(output) == {f"study@{a}" for a in aux} | {"check", "curve", "report"}
    for arch in aux:
        assert [p["lambda"] for p in json.loads((repo / f"metrics/search/{arch}.json").read_text())["grid"]] == [0.75]
    diff = json.loads(dvc(repo, "metrics", "diff", "--json").stdout)
    means = {path.split("/")[-1].removesuffix(".json") for path, keys in diff.items()
             if path.startswith("metrics/accuracy/") and "mean" in keys}
    assert means and means <= set(aux)
    assert all(set(keys) <= ({"mean", "std"} if path.startswith("metrics/accuracy/") else
                             {"best"} if path == "metrics/best.json" else {"train_acc", "val_acc", "step"})
               for path, keys in diff.items())
    rows = [line.split() for line in dvc(repo, "metrics", "diff").stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == sum(map(len, diff.values()))


def every_mean_in_order(lines: list[str]) -> None:
    """scripts.exp_table without --only-changed: the params that differ (train.workers,
    train.backend, lambda), then every architecture in Table 2's order and the registry's,
    one best (`*`) per column."""
    header = lines[0].split()
    names = [line.split()[0] for line in lines[1:] if line.split() and line.split()[0] in NAMES]
    assert names == list(ARCHITECTURES) + [n for n in NAMES if n in TINY["extras"]]
    assert {"train.workers", "train.backend", "lambda"} <= {line.split()[0] for line in lines[1:] if line.split()}
    assert sum(line.count("*") for line in lines) == len(header)


def test_the_readmes_first_experiment_as_written(base, tmp_path):
    repo = clone(base, tmp_path / "repo")
    commands = first_experiment()
    assert [c.split()[:3] for c in commands[:3]] == [["dvc", "exp", "run"], ["dvc", "exp", "diff"],
                                                      ["dvc", "plots", "diff"]]
    head = {p.name: p.read_bytes() for p in (repo / "metrics/accuracy").iterdir()}
    shown = dvc(repo, "metrics", "show").stdout.splitlines()  # a row per architecture, within 120 columns
    assert max(map(len, shown)) <= 120 and len(shown) == 1 + len(head) + 2  # + best.json, dvclive/metrics.json
    out = {}
    for command in commands:
        out[command] = shell(repo, command).stdout
        if command == commands[0]:
            lambda_reaches_only_the_aux_models(repo, out[command])
        if command.startswith("dvc plots diff"):
            assert (repo / "dvc_plots/index.html").is_file()
        if command.startswith(".venv/bin/python -m scripts.exp_table"):  # two more experiments, then three
            for extra in ("-S train.workers=1 -n one-worker", "-S train.backend=spawn -n spawn"):
                assert ran_stages(dvc(repo, "exp", "run", *extra.split()).stdout) == {"check"}  # speed only
            wide = shell(repo, command).stdout.splitlines()
            assert max(map(len, wide)) <= 120
            assert {"lam075", "one-worker", "spawn"} <= set(wide[0].split())
            every_mean_in_order(shell(repo, command.replace(" --only-changed", "")).stdout.splitlines())
    exp_run, exp_diff = commands[0], commands[1]
    name = exp_run.split("-n ")[1].split()[0]
    assert exp_diff == f"dvc exp diff HEAD {name}"
    # The changed means, one line each, all of _aux architectures (lambda reaches no other).
    rows = [line.split() for line in out[exp_diff].splitlines() if line.startswith("metrics/accuracy/")]
    means = [r for r in rows if r[1] == "mean"]
    assert means and all(r[0].endswith(AUX) for r in means)
    diff = json.loads(dvc(repo, "exp", "diff", "HEAD", name, "--json").stdout)["metrics"]
    assert {r[0] for r in means} == {p for p, keys in diff.items() if p.startswith("metrics/") and "mean" in keys}
    assert "lambda" in out[exp_diff]
    table = json.loads(dvc(repo, "exp", "show", "--json").stdout)  # every mean, in every experiment's row
    revs = [rev for base in table for rev in [base, *(r for e in base["experiments"] or [] for r in e["revs"])]]
    assert len(revs) == 2 + 3  # the workspace, HEAD and the three experiments
    for rev in revs:
        files = rev["data"]["metrics"]
        assert all("mean" in files[f"metrics/accuracy/{name}"]["data"] for name in head)
    compared = out[next(c for c in commands if "compare_runs" in c)]
    assert "nan" not in compared and "unchanged, every run identical" in compared
    # Back to HEAD: its params and metrics, nothing out of date.
    assert {p.name: p.read_bytes() for p in (repo / "metrics/accuracy").iterdir()} == head
    assert (repo / "params.yaml").read_text() == (base / "params.yaml").read_text()
    assert "up to date" in dvc(repo, "status").stdout
