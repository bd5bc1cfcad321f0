"""The training cache: keyed by the checkout's own code, shared by DVC's experiments,
checked on read (the table of damaged entries is in test_faults.py)."""

import json
import shutil

import pytest
import yaml

from digitcmp.cache import PACKAGE, code_fingerprint
from tests.dvcproject import clone, dvc, env, ran_stages, run, write_params

ARCH = "shallow_sharing_aux"


def test_editing_any_module_of_the_package_changes_the_code_fingerprint(tmp_path):
    copy = shutil.copytree(PACKAGE, tmp_path / "digitcmp", ignore=shutil.ignore_patterns("__pycache__"))
    original = code_fingerprint(copy)
    assert original == code_fingerprint(PACKAGE)
    modules = sorted(copy.rglob("*.py"))
    assert {"engine.py", "search.py", "params.py", "stage.py", "files.py", "errors.py", "__init__.py"} <= {
        m.name for m in modules}
    for module in modules:
        source = module.read_bytes()
        module.write_bytes(source + b"\n# an edit\n")
        code_fingerprint.cache_clear()
        assert code_fingerprint(copy) != original, module.name
        module.write_bytes(source)
    (copy / "new_module.py").write_text("X = 1\n")
    code_fingerprint.cache_clear()
    assert code_fingerprint(copy) != original


def second_clone_env(repo):
    """The environment of a second clone that shares this venv: no PYTHONPATH, so only
    `python -m` from its root makes it import its own digitcmp (the venv's editable
    install points at another checkout)."""
    e = env(repo)
    e.pop("PYTHONPATH")
    return e


def test_a_training_module_edited_in_a_second_clone_misses_the_cache(base, tmp_path):
    repo = clone(base, tmp_path / "repo")
    store = tmp_path / "store"
    e = {**second_clone_env(repo), "DIGITCMP_CACHE": str(store)}
    run(repo, "python", "-m", "stages.study", ARCH, env=e)
    first = set(store.glob("*.json"))
    assert len(first) == 3  # one grid point, two retrainings
    run(repo, "python", "-m", "stages.study", ARCH, env=e)
    assert set(store.glob("*.json")) == first  # unchanged code: every training from the cache
    engine = repo / "digitcmp" / "engine.py"
    engine.write_text(engine.read_text() + "\n# an edit that changes no number\n")
    run(repo, "python", "-m", "stages.study", ARCH, env=e)
    assert len(set(store.glob("*.json")) - first) == 3  # every training ran again


@pytest.mark.parametrize("backend", ["fork", "spawn", "dask"])
def test_a_stage_in_a_second_clone_runs_that_clones_code(base, tmp_path, backend):
    """Through DVC, in the stage process and in its workers: the clone's own train.py
    (here scoring every set at 0) decides the numbers."""
    repo = clone(base, tmp_path / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"] |= {"backend": backend, "workers": 2}
    write_params(repo, params)
    train = repo / "digitcmp" / "train.py"
    train.write_text(train.read_text().replace("return correct / n,", "return 0 * correct / n,"))
    out = run(repo, "dvc", "repro", f"study@{ARCH}", env=second_clone_env(repo))
    assert f"study@{ARCH}" in ran_stages(out.stdout)
    runs = json.loads((repo / f"metrics/runs/{ARCH}.json").read_text())
    assert runs["test_acc"] == [0.0, 0.0] and runs["mean"] == 0.0


def test_temp_experiment_reuses_the_workspace_cache(base, tmp_path):
    """`dvc exp run --temp` runs in a copy under .dvc/tmp/exps; DVC_ROOT points the stage
    at the workspace's .cache/trainings, so a forced rerun trains nothing."""
    repo = clone(base, tmp_path / "repo")
    entries = {p: p.stat().st_mtime_ns for p in (repo / ".cache" / "trainings").glob("*.json")}
    assert entries
    out = dvc(repo, "exp", "run", "--temp", "-f", f"study@{ARCH}")
    assert f"study@{ARCH}" in ran_stages(out.stdout + out.stderr)
    assert {p: p.stat().st_mtime_ns for p in (repo / ".cache" / "trainings").glob("*.json")} == entries
    assert not (repo / ".dvc" / "tmp" / "exps").exists() or not list((repo / ".dvc/tmp/exps").rglob("trainings"))


def test_an_empty_cache_variable_means_the_default(base, tmp_path):
    repo = clone(base, tmp_path / "repo")
    shutil.rmtree(repo / ".cache")
    run(repo, "python", "-m", "stages.study", ARCH, env={**env(repo), "DIGITCMP_CACHE": ""})
    assert len(list((repo / ".cache" / "trainings").glob("*.json"))) == 3
    assert not list(repo.glob("*.json"))
