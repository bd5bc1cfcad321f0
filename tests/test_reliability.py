"""Interrupted runs, damaged inputs and reruns: never a wrong or half-written result."""

import json
import os
import signal
import sys
import subprocess
import time

import numpy as np
import pytest

from digitcmp.data import prepare_arrays
from digitcmp.search import pick_best
from tests.dvcproject import TINY, dvc, env, ran_stages, run, write_params, study_argv

# A stage long enough to interrupt: 16 + 2 conv2 trainings of about 0.13 s each.
SLOW = {**TINY, "lr": [1.0e-3, 1.0e-2], "hidden": [8, 16, 32, 64], "lambda": [0.25, 0.5],
        "train": {**TINY["train"], "epochs": 10, "workers": 1}}


STAGE = "study@conv2_sharing_aux"
OUTS = ("metrics/search/conv2_sharing_aux.json", "metrics/runs/conv2_sharing_aux.json")


def default_sigint() -> None:
    """In the child: SIGINT as a terminal delivers it, even where this test runs with
    SIGINT ignored (a shell's background job), which Python and DVC would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cache_entries(repo):
    return list((repo / ".cache" / "trainings").glob("*.json"))


def start_and_wait_for_trainings(args: list[str], repo, n: int = 3, **popen) -> tuple[subprocess.Popen, int]:
    """Start `args` in `repo`; return once it has cached `n` new trainings (or ended),
    with the number of cache entries there were before."""
    before = len(cache_entries(repo))
    proc = subprocess.Popen(args, cwd=repo, env=env(repo), preexec_fn=default_sigint,
                            stdout=subprocess.DEVNULL, **popen)
    deadline = time.time() + 300
    while len(cache_entries(repo)) < before + n and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    return proc, before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_stage_resumes_to_identical_results(repo, tmp_path, sig):
    write_params(repo, SLOW)
    committed = [(repo / out).read_bytes() for out in OUTS]
    proc, before = start_and_wait_for_trainings(["dvc", "repro", STAGE], repo, start_new_session=True,
                                                stderr=subprocess.DEVNULL)
    os.killpg(proc.pid, sig)
    proc.wait()
    finished = len(cache_entries(repo)) - before
    assert 3 <= finished < 18, "the stage was not interrupted midway"
    # Persistent outputs: the stopped stage leaves the committed pair whole, never half of a new one.
    assert [(repo / out).read_bytes() for out in OUTS] == committed and not list(repo.glob("metrics/**/.*.tmp"))
    rerun = dvc(repo, "repro", STAGE)
    assert STAGE in ran_stages(rerun.stdout)
    assert len(cache_entries(repo)) - before == 18  # only the unfinished ones were trained again
    # The same stage, uninterrupted, with an empty cache, gives the same bytes (once: both
    # signals resume to the same trainings).
    if sig == signal.SIGINT:
        fresh = {**env(repo), "DIGITCMP_CACHE": str(tmp_path / "fresh")}
        resumed = [(repo / out).read_bytes() for out in OUTS]
        run(repo, *study_argv("conv2_sharing_aux"), env=fresh)
        assert [(repo / out).read_bytes() for out in OUTS] == resumed


def test_interrupted_stage_script_leaves_its_previous_outputs(repo):
    """Run without DVC (which deletes a stage's outputs first), a stopped stage writes
    neither of its two files: the previous search and runs stay a matching pair."""
    before = [(repo / out).read_bytes() for out in OUTS]
    write_params(repo, SLOW)
    proc, entries = start_and_wait_for_trainings([sys.executable, *study_argv("conv2_sharing_aux")[1:]], repo,
                                                 stderr=subprocess.PIPE, text=True)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130 and "interrupted" in err
    assert len(cache_entries(repo)) - entries < 18, "the stage was not interrupted midway"
    assert [(repo / out).read_bytes() for out in OUTS] == before


def test_damaged_data_is_detected_before_training(repo):
    """Bytes changed in place, size and time kept: DVC trusts its recorded state, so
    `dvc repro prepare` does nothing; the hint's `dvc repro -f prepare` repairs."""
    draws = repo / "data/prepared/draws.npy"
    info = draws.stat()
    with open(draws, "r+b") as f:  # in place (DVC's default cache type copies, so its cache is intact)
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    os.utime(draws, ns=(info.st_atime_ns, info.st_mtime_ns))
    out = run(repo, *study_argv("mlp_sharing_aux"), check=False)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: data/prepared: draws.npy does not match its hash in manifest.json (truncated or edited?); "
        "rerun `dvc repro -f prepare`"]
    assert "prepare" not in ran_stages(dvc(repo, "repro", "prepare").stdout)  # what the old hint said
    dvc(repo, "repro", "-f", "prepare")
    run(repo, *study_argv("mlp_sharing_aux"))


def test_diverged_never_wins_over_finite():
    rows = [{"lr": 0.1, "hidden": 50, "lambda": None, "val_acc": 0.9, "diverged": True},
            {"lr": 1e-3, "hidden": 300, "lambda": None, "val_acc": 0.6, "diverged": False},
            {"lr": 1e-3, "hidden": 100, "lambda": None, "val_acc": 0.6, "diverged": False}]
    assert pick_best(rows) is rows[2]  # finite first, then accuracy, then the smaller model
    assert pick_best(rows[:1]) is rows[0]


def test_rerun_and_repeated_experiment_give_identical_metrics(repo):
    target = "study@mlp_sharing_aux"
    dvc(repo, "exp", "run", "-S", "lambda=0.75", target)
    first = (repo / "metrics/search/mlp_sharing_aux.json").read_bytes()
    run(repo, "rm", "-rf", ".cache")
    again = dvc(repo, "exp", "run", "-f", "-S", "lambda=0.75", target)
    assert target in ran_stages(again.stdout)
    assert (repo / "metrics/search/mlp_sharing_aux.json").read_bytes() == first


def test_data_seed_changes_the_data():
    a = prepare_arrays("mnist5k", seed=0, n=50, repeats=2)
    b = prepare_arrays("mnist5k", seed=1, n=50, repeats=2)
    assert not np.array_equal(a["draws"], b["draws"])
    assert not np.array_equal(a["train_images"], b["train_images"])
    assert all(np.array_equal(a[k], prepare_arrays("mnist5k", seed=0, n=50, repeats=2)[k]) for k in a)


def test_temp_experiment_leaves_the_workspace_untouched(repo):
    def snapshot():  # the training cache aside: experiments share the workspace's on purpose
        return {p: p.read_bytes() for p in sorted(repo.rglob("*"))
                if p.is_file() and not any(d in p.as_posix() for d in (".dvc/tmp", "/.git/", "/.cache/"))}

    before, entries = snapshot(), len(cache_entries(repo))
    dvc(repo, "exp", "run", "--temp", "-n", "lam075", "-S", "lambda=0.75", "study@mlp_sharing_aux")
    assert snapshot() == before
    assert len(cache_entries(repo)) == entries + 3  # its new trainings, for the next experiment to reuse
    assert run(repo, "git", "status", "--porcelain").stdout == ""
    shown = json.loads(dvc(repo, "exp", "show", "--json").stdout)
    exps = [e for commit in shown for e in (commit.get("experiments") or [])]
    names = {run_["name"] for e in exps for run_ in e.get("revs", [])}
    assert "lam075" in names


def test_dask_backend_without_dask_installed_is_one_clear_line(monkeypatch):
    from digitcmp import cluster
    from digitcmp.errors import UserError

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if `digitcmp[cluster]` were not installed
    with pytest.raises(UserError, match=r"train.backend: dask needs dask.distributed; allowed: fork or spawn"):
        next(cluster.execute([], 2, None, train=print, store=print))
