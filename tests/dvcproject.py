"""Helpers for tests that drive the real `dvc` CLI on a copy of this project."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# What a project copy needs: the pipeline, its code and DVC's config and plot templates.
PROJECT_FILES = ("dvc.yaml", "stages", "digitcmp", "digitcmp_report", "experiments", ".dvc/config", ".dvc/plots",
                 ".dvc/plots_page.html", ".dvcignore", ".gitignore", "data/mnist/MNIST/raw/README.md")

TINY = {
    "lr": [1.0e-3],
    "hidden": [16],
    "lambda": [0.5],
    "data": {"source": "mnist5k", "root": "data/mnist", "download": False, "n_pairs": 60, "seed": 0},
    "train": {"epochs": 1, "batch_size": 20, "val_fraction": 0.3, "repeats": 2, "curve_epochs": 2,
              "workers": 2, "backend": "fork", "device": "cpu", "precision": "fp32", "standardise": True},
    "extras": {
        "probcmp_conv": {"lr": 1.0e-3, "hidden": 8, "lambda": 0.5},
        "conv2x_sharing_aux": {"lr": 1.0e-3, "hidden": 8, "lambda": 0.5, "activation": "tanh", "dropout": 0.25},
        "deepmlp_sharing_aux": {"lr": 1.0e-3, "hidden": 8, "lambda": 0.5, "depth": 2, "width": 16},
        "probcmp_augment": {"lr": 1.0e-3, "hidden": 8, "lambda": 0.5, "width": 4, "rotate": 10, "shift": 1.0,
                            "scale": 0.1, "elastic": 0.1, "swap": True},
        "lenet_digits_800": {"lr": 1.0e-3, "hidden": 8, "lambda": 0.5, "batch_size": 8, "fit_pairs": 40},
    },
}


def with_pairs(params: dict, n_pairs: int) -> dict:
    """A copy of `params` with `n_pairs` pairs per set, and each extra that fits part of its
    train pairs fitting 80% of them (so that `fit_pairs` stays within data.n_pairs)."""
    params = copy.deepcopy(params)
    params["data"]["n_pairs"] = n_pairs
    for grid in params["extras"].values():
        if "fit_pairs" in grid:
            grid["fit_pairs"] = n_pairs * 4 // 5
    return params


def study_argv(arch: str) -> tuple[str, ...]:
    """The study stage's command for `arch`, as dvc.yaml gives it."""
    from digitcmp.pipeline import outputs

    found = outputs(arch, ROOT)
    return "python", "-m", "stages.study", arch, found.search.as_posix(), found.runs.as_posix()


def env(repo: Path) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{VENV_BIN}{os.pathsep}{e['PATH']}"
    e["PYTHONPATH"] = str(repo)  # the copy's own digitcmp
    e.pop("DIGITCMP_CACHE", None)
    return e


def run(repo: Path, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=repo, env=kwargs.pop("env", env(repo)), capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(repo, "dvc", *args, check=check)


def write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def make_project(repo: Path, params: dict) -> Path:
    """A fresh git + DVC repo holding this project's pipeline and `params`."""
    repo.mkdir(parents=True)
    for name in PROJECT_FILES:
        src, dst = ROOT / name, repo / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    write_params(repo, params)
    run(repo, "git", "init", "-q")
    run(repo, "git", "config", "user.email", "test@digitcmp.invalid")
    run(repo, "git", "config", "user.name", "digitcmp test")
    commit(repo, "project")
    return repo


def commit(repo: Path, message: str) -> None:
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", message, "--allow-empty")


def clone(src: Path, dst: Path) -> Path:
    """A copy of a test repo with its workspace, git history and DVC cache."""
    dvc_tmp = src / ".dvc"  # its tmp/ holds DVC's locks, written by whoever runs dvc there

    def ignore(folder: str, names: list[str]) -> list[str]:
        return ["tmp"] if Path(folder) == dvc_tmp and "tmp" in names else []

    shutil.copytree(src, dst, symlinks=True, ignore=ignore)
    return dst


def ran_stages(output: str) -> set[str]:
    """Names of the stages that DVC's output says it ran."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}
