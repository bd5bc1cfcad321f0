"""The training cache: keyed by the checkout's own code, shared by DVC's experiments,
checked on read (the table of damaged entries is in test_faults.py)."""

import json
import shutil

import pytest
import yaml

from pathlib import Path

from digitcmp.cache import PACKAGE, code_fingerprint
from digitcmp.training.registry import NAMES, SOURCES
from tests.dvcproject import clone, dvc, env, ran_stages, run, write_params, study_argv

ARCH = "shallow_sharing_aux"


def fingerprints(root: Path) -> dict[str, str]:
    """The code fingerprint of every architecture's trainings, for a copy of the package at `root`."""
    code_fingerprint.cache_clear()
    return {arch: code_fingerprint(arch, package=root / "digitcmp" / "training") for arch in NAMES}


def edited(module: Path, check) -> None:
    """Append a comment to `module`, call `check`, restore it."""
    source = module.read_bytes()
    module.write_bytes(source + b"\n# an edit\n")
    try:
        check()
    finally:
        module.write_bytes(source)


@pytest.fixture
def package_copy(tmp_path) -> Path:
    shutil.copytree(PACKAGE.parent, tmp_path / "digitcmp", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_editing_a_module_inside_the_training_package_misses_its_trainings(package_copy):
    original = fingerprints(package_copy)
    assert original == fingerprints(PACKAGE.parents[1])
    inside = sorted((package_copy / "digitcmp" / "training").rglob("*.py"))
    assert {"train.py", "pairs.py", "task.py", "models.py", "registry.py", "augment.py", "seeds.py",
            "__init__.py"} <= {m.name for m in inside}
    for module in inside:
        own = module.parent.name == "extras" and module.name != "__init__.py"
        def check():
            now = fingerprints(package_copy)
            changed = {arch for arch in NAMES if now[arch] != original[arch]}
            builds_on = {"probcmp_conv.py": {"probcmp_augment", "probcmp_nobn", "probcmp_wide", "probcmp_onecycle",
                                            "probcmp_tta"}}.get(module.name, set())
            expected = {a for a in NAMES if SOURCES[a].name == module.name} | builds_on if own else set(NAMES)
            assert changed == expected, module.name
        edited(module, check)
    (package_copy / "digitcmp" / "training" / "new_module.py").write_text("X = 1\n")
    assert all(fingerprints(package_copy)[arch] != original[arch] for arch in NAMES)


def test_editing_a_module_outside_the_training_package_keeps_every_entry(package_copy):
    original = fingerprints(package_copy)
    outside = [m for m in sorted((package_copy / "digitcmp").rglob("*.py")) if "training" not in m.parts]
    assert {"engine.py", "search.py", "params.py", "bounds.py", "stage.py", "files.py", "cache.py", "errors.py",
            "data.py"} <= {m.name for m in outside}
    for module in outside:
        edited(module, lambda: (fingerprints(package_copy) == original) or pytest.fail(module.name))
    (package_copy / "digitcmp" / "new_module.py").write_text("X = 1\n")
    assert fingerprints(package_copy) == original


def second_clone_env(repo):
    """The environment of a second clone that shares this venv: no PYTHONPATH, so only
    `python -m` from its root makes it import its own digitcmp (the venv's editable
    install points at another checkout)."""
    e = env(repo)
    e.pop("PYTHONPATH")
    return e


def test_in_a_second_clone_a_message_edit_retrains_nothing_and_a_training_edit_retrains(base, tmp_path):
    """Through DVC, forced: a new refusal message in params validation keeps every cached
    training; a comment in the training loop (inside digitcmp/training) misses them all."""
    repo = clone(base, tmp_path / "repo")
    store = tmp_path / "store"
    e = {**second_clone_env(repo), "DIGITCMP_CACHE": str(store)}
    run(repo, "dvc", "repro", "-f", "-s", f"study@{ARCH}", env=e)
    first = set(store.glob("*.json"))
    assert len(first) == 3  # one grid point, two retrainings
    params = repo / "digitcmp" / "params.py"
    assert "is not allowed; allowed: a mapping of keys" in params.read_text()
    params.write_text(params.read_text().replace("is not allowed; allowed: a mapping of keys",
                                                 "is refused; allowed: a mapping of keys"))
    stale = json.loads(run(repo, "dvc", "status", "--json", env=e).stdout)
    assert "check" in stale and not any(s.startswith(("study@", "extra@", "curve")) for s in stale)
    run(repo, "dvc", "repro", "-f", "-s", f"study@{ARCH}", env=e)
    assert set(store.glob("*.json")) == first  # every training from the cache
    loop = repo / "digitcmp" / "training" / "train.py"
    loop.write_text(loop.read_text() + "\n# an edit that changes no number\n")
    assert f"study@{ARCH}" in json.loads(run(repo, "dvc", "status", "--json", env=e).stdout)
    run(repo, "dvc", "repro", "-f", "-s", f"study@{ARCH}", env=e)
    assert len(set(store.glob("*.json")) - first) == 3  # every training ran again


@pytest.mark.parametrize("backend", ["fork", "spawn", "dask"])
def test_a_stage_in_a_second_clone_runs_that_clones_code(base, tmp_path, backend):
    """Through DVC, in the stage process and in its workers: the clone's own train.py
    (here scoring every set at 0) decides the numbers."""
    repo = clone(base, tmp_path / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"] |= {"backend": backend, "workers": 2}
    write_params(repo, params)
    train = repo / "digitcmp" / "training" / "train.py"
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
    run(repo, *study_argv(ARCH), env={**env(repo), "DIGITCMP_CACHE": ""})
    assert len(list((repo / ".cache" / "trainings").glob("*.json"))) == 3
    assert not list(repo.glob("*.json"))
