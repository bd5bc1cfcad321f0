"""Runtime faults, one row per case: the training cache, outputs that cannot be written,
damaged metrics, Dask, Ctrl-C. Each row: the fault, the one line expected on stderr
(a regex), the exit status, and which outputs may change (none, unless named).
The input cases (params, MNIST files) are in test_bad_input.py."""

import json
import re
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tests.dvcproject import clone, env, ran_stages, run, write_params, study_argv

ARCH = "shallow_sharing_aux"
STUDY = study_argv(ARCH)
OUTS = (f"metrics/search/{ARCH}.json", f"metrics/runs/{ARCH}.json")
CURVE_OUTS = ("metrics/curve.json", "dvclive/metrics.json", "dvclive/plots/metrics/val_acc.tsv")
REPORT_OUTS = ("results.md", "metrics/best.json")


@pytest.fixture(scope="module")
def project(base, tmp_path_factory):
    """The tiny project after a full repro, and a cache holding the study of ARCH alone."""
    repo = clone(base, tmp_path_factory.mktemp("faults") / "repo")
    store = repo.parent / "store"
    run(repo, *STUDY, env={**env(repo), "DIGITCMP_CACHE": str(store)})
    return repo, store


def entries(store: Path, draw: str) -> list[Path]:
    """The cache entries of ARCH's grid search ("val") or of its retrainings ("test")."""
    return sorted(p for p in store.glob("*.json") if draw in json.loads(p.read_text())["result"]["acc"])


def edit_entry(draw: str, change):
    def fault(repo, store):
        path = entries(store, draw)[0]
        entry = json.loads(path.read_text())
        new = change(entry)
        if isinstance(new, Path):
            path.unlink()
            path.mkdir()
        else:
            path.write_text(new if isinstance(new, str) else json.dumps(new))
    return fault


def special_entry(make):
    """A grid-search entry replaced by a special file (`make(path)`)."""
    def fault(repo, store):
        path = entries(store, "val")[0]
        path.unlink()
        make(path)
    return fault


def set_acc(value, where="acc", key="val"):
    def change(entry):
        entry["result"][where][key] = value
        return entry
    return change


def plausible_acc(entry):
    """Another possible accuracy (a count of correct pairs over the set's size)."""
    acc = entry["result"]["acc"]["val"]
    n = 18  # the tiny profile's 60 pairs, 30% validation
    entry["result"]["acc"]["val"] = round(acc * n + (1 if acc < 1 else -1)) / n
    return entry


def replace(path, content):
    def fault(repo, store):
        target = repo / path
        if content is None:
            target.unlink()
        elif content == "dir":
            target.unlink()
            target.mkdir()
        else:
            target.write_text(content)
    return fault


def setenv(**values):
    def fault(repo, store):
        return values
    return fault


def both(*faults):
    def fault(repo, store):
        extra = {}
        for f in faults:
            extra |= f(repo, store) or {}
        return extra
    return fault


def empty_cache(repo, store):
    shutil.rmtree(store)
    store.mkdir()


def dask_backend(repo, store):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["backend"] = "dask"
    write_params(repo, params)


def damaged(why: str) -> str:
    return rf"warning: \S+/store/[0-9a-f]{{64}}\.json: damaged cache entry \({why}\); training it again"


DAMAGED = damaged(".+")
# id, fault, command, expected stderr line (regex; None: no line), exit status, outputs that may change
ROWS = [
    ("cache-acc-0.54-to-0.99", edit_entry("val", set_acc(0.99)), STUDY,
     damaged(r"val = 0\.99 is not a count of correct answers out of 18"), 0, ()),
    ("cache-acc-7.5", edit_entry("val", set_acc(7.5)), STUDY, damaged(r"val = 7\.5 is not an accuracy in \[0, 1\]"), 0, ()),
    ("cache-acc-negative", edit_entry("test", set_acc(-0.5, key="test")), STUDY, damaged(r"test = -0\.5 is not an accuracy in \[0, 1\]"), 0, ()),
    ("cache-acc-nan", edit_entry("val", set_acc(math.nan)), STUDY,
     damaged(r"val = nan is not an accuracy in \[0, 1\]"), 0, ()),
    ("cache-acc-infinity", edit_entry("val", set_acc(math.inf)), STUDY, damaged(r"val = inf is not an accuracy in \[0, 1\]"), 0, ()),
    ("cache-acc-string", edit_entry("val", set_acc("0.9")), STUDY, damaged(r"val = 0\.9 is not an accuracy in \[0, 1\]"), 0, ()),
    ("cache-acc-bool", edit_entry("val", set_acc(True)), STUDY, damaged(r"val = True is not an accuracy in \[0, 1\]"), 0, ()),
    ("cache-digit-acc-2", edit_entry("test", set_acc(2.0, "digit_acc", "test")), STUDY, DAMAGED, 0, ()),
    ("cache-entry-{}", edit_entry("val", lambda e: {}), STUDY, damaged(r"not a cache entry: '\{\}'"), 0, ()),
    ("cache-entry-[]", edit_entry("val", lambda e: []), STUDY, damaged(r"not a cache entry: '\[\]'"), 0, ()),
    ("cache-entry-NaN", edit_entry("val", lambda e: "NaN"), STUDY, damaged(r"not a cache entry: 'nan'"), 0, ()),
    ("cache-entry-string", edit_entry("val", lambda e: '"hello"'), STUDY, damaged(r"not a cache entry: 'hello'"), 0, ()),
    ("cache-entry-directory", edit_entry("val", lambda e: Path()), STUDY, damaged(r"is a directory, not a regular file"), 0, ()),
    ("cache-entry-garbage", edit_entry("val", lambda e: "\x00\xff{"), STUDY, damaged(r"not JSON \(.+\)"), 0, ()),
    ("cache-entry-empty", edit_entry("val", lambda e: ""), STUDY, damaged(r"not JSON \(.+\)"), 0, ()),
    ("cache-entry-old-format", edit_entry("val", lambda e: e["result"]), STUDY, damaged(r"not a cache entry: .+"), 0, ()),
    ("cache-entry-wrong-key", edit_entry("val", lambda e: {**e, "key": "0" * 64}), STUDY,
     damaged(r"its key '0+' is not its name"), 0, ()),
    ("cache-entry-result-[]", edit_entry("val", lambda e: {**e, "result": []}), STUDY,
     damaged(r"not a training result: .+"), 0, ()),
    ("cache-entry-extra-field", edit_entry("val", lambda e: {**e, "result": {**e["result"], "x": 1}}), STUDY,
     damaged(r"not a training result: .+"), 0, ()),
    ("cache-acc-wrong-sets", edit_entry("val", lambda e: {**e, "result": {**e["result"], "acc": {"val": 0.5}}}),
     STUDY, damaged(r"sets \['val'\], expected \['train', 'val'\]"), 0, ()),
    ("cache-diverged-string", edit_entry("val", lambda e: {**e, "result": {**e["result"], "diverged": "no"}}),
     STUDY, damaged(r"diverged = no is not true or false"), 0, ()),
    ("cache-epochs-run-negative", edit_entry("val", lambda e: {**e, "result": {**e["result"], "epochs_run": -1}}),
     STUDY, damaged(r"epochs_run = -1 is not in 0\.\.1"), 0, ()),
    ("cache-history-bogus", edit_entry("val", lambda e: {**e, "result": {**e["result"], "history": [{}]}}),
     STUDY, damaged(r"history .+ does not match epochs_run = 1"), 0, ()),
    ("cache-plausible-edit-verified", both(edit_entry("val", plausible_acc), setenv(DIGITCMP_VERIFY="9")), STUDY,
     r"error: \S+\.json: cached acc\.val .* differs from a recomputation .*DIGITCMP_CACHE=off", 2, ()),
    ("cache-verify-intact", setenv(DIGITCMP_VERIFY="9"), STUDY, None, 0, ()),
    ("cache-verify-not-a-number", setenv(DIGITCMP_VERIFY="abc"), STUDY,
     r"error: DIGITCMP_VERIFY: 'abc' is not allowed; allowed: a whole number of trainings \(0: off\)", 2, ()),
    ("cache-dir-is-a-file", lambda repo, store: (store.joinpath("f").write_text("x"),
                                                 {"DIGITCMP_CACHE": str(store / "f")})[1], STUDY,
     r"warning: \S+/f: training cache unusable \(File exists\); training without a cache.*", 0, ()),
    ("cache-dir-under-a-file", lambda repo, store: (store.joinpath("f").write_text("x"),
                                                    {"DIGITCMP_CACHE": str(store / "f" / "sub")})[1], STUDY,
     r"warning: \S+/f/sub: training cache unusable \(Not a directory\); training without a cache.*", 0, ()),
    ("cache-dir-not-writable", setenv(DIGITCMP_CACHE="/proc/digitcmp-cache"), STUDY,
     r"warning: /proc/digitcmp-cache: training cache unusable \(No such file or directory\); .*", 0, ()),
    ("cache-empty-means-default", setenv(DIGITCMP_CACHE=""), STUDY, None, 0, ()),
    ("runs-output-is-a-directory", replace(OUTS[1], "dir"), STUDY,
     rf"error: {OUTS[1]}: cannot be written \(Is a directory: {OUTS[1]}\); allowed: a file in a writable directory", 2, ()),
    ("runs-directory-is-a-file", lambda repo, store: (shutil.rmtree(repo / "metrics/runs"),
                                                      (repo / "metrics/runs").write_text("x")) and None, STUDY,
     rf"error: {OUTS[1]}: cannot be written \(File exists: metrics/runs\); allowed: .*", 2, ()),
    ("curve-runs-missing", replace(f"metrics/runs/{ARCH}.json", None), ("python", "-m", "stages.curve"),
     rf"error: metrics/runs/{ARCH}.json: missing; run `dvc repro study@{ARCH}`", 2, ()),
    ("curve-runs-garbage", replace(f"metrics/runs/{ARCH}.json", "{oops"), ("python", "-m", "stages.curve"),
     rf"error: metrics/runs/{ARCH}.json: unreadable \(not JSON\); run `dvc repro study@{ARCH}`", 2, ()),
    ("curve-runs-list", replace(f"metrics/runs/{ARCH}.json", "[]"), ("python", "-m", "stages.curve"),
     rf"error: metrics/runs/{ARCH}.json: not a JSON object; run `dvc repro study@{ARCH}`", 2, ()),
    ("curve-runs-mean-string", replace(f"metrics/runs/{ARCH}.json", '{"mean": "high"}'),
     ("python", "-m", "stages.curve"), rf"error: metrics/runs/{ARCH}.json: mean is 'high', not a number; run `dvc repro study@{ARCH}`", 2, ()),
    ("report-runs-missing", replace(f"metrics/runs/{ARCH}.json", None), ("python", "-m", "stages.report"),
     rf"error: metrics/runs/{ARCH}.json: missing; run `dvc repro study@{ARCH}`", 2, ()),
    ("report-search-garbage", replace(f"metrics/search/{ARCH}.json", "\x00"), ("python", "-m", "stages.report"),
     rf"error: metrics/search/{ARCH}.json: unreadable \(not JSON\); run `dvc repro study@{ARCH}`", 2, ()),
    ("report-runs-no-std", replace(f"metrics/runs/{ARCH}.json", '{"mean": 0.5}'), ("python", "-m", "stages.report"),
     rf"error: metrics/runs/{ARCH}.json: std is None, not a number; run `dvc repro study@{ARCH}`", 2, ()),
    ("report-curve-json-missing", replace("metrics/curve.json", None), ("python", "-m", "stages.report"),
     r"error: metrics/curve.json: missing; run `dvc repro curve`", 2, ()),
    ("report-live-curve-missing", replace("dvclive/plots/metrics/val_acc.tsv", None), ("python", "-m", "stages.report"),
     r"error: dvclive/plots/metrics/val_acc.tsv: missing; run `dvc repro curve`", 2, ()),
    ("report-live-curve-garbage", replace("dvclive/plots/metrics/train_acc.tsv", "epoch,acc\n0,0.5\n"),
     ("python", "-m", "stages.report"),
     r"error: dvclive/plots/metrics/train_acc.tsv: not DVCLive's step<TAB>train_acc table; run `dvc repro curve`", 2, ()),
    ("dask-address-malformed", both(dask_backend, empty_cache, setenv(DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:notaport")),
     STUDY, r"error: DASK_SCHEDULER_ADDRESS: 'tcp://127.0.0.1:notaport' is malformed \(.+\); allowed: tcp://HOST:PORT of a Dask scheduler", 2, ()),
    # Special files in the cache: refused unread (a FIFO would block, /dev/zero fill memory), then replaced.
    ("cache-entry-fifo", special_entry(os.mkfifo), STUDY, damaged(r"is a FIFO, not a regular file"), 0, ()),
    ("cache-entry-dev-zero", special_entry(lambda p: p.symlink_to("/dev/zero")), STUDY,
     damaged(r"is a character device, not a regular file"), 0, ()),
    # The environment, parsed exactly.
    ("cache-OFF", both(empty_cache, setenv(DIGITCMP_CACHE="OFF")), STUDY, None, 0, ()),
    ("cache-off-spaced", both(empty_cache, setenv(DIGITCMP_CACHE=" off ")), STUDY, None, 0, ()),
    ("cache-path-spaced", setenv(DIGITCMP_CACHE=" store"), STUDY, r"error: DIGITCMP_CACHE: ' store' is not allowed; "
     r"allowed: off, or a directory path without spaces at its ends or control characters \(empty: the default\)", 2, ()),
    ("verify-superscript-2", setenv(DIGITCMP_VERIFY="²"), STUDY,
     r"error: DIGITCMP_VERIFY: '²' is not allowed; allowed: a whole number of trainings \(0: off\)", 2, ()),
    ("gomp-affinity-garbage", setenv(GOMP_CPU_AFFINITY="garbage"), STUDY, r"error: GOMP_CPU_AFFINITY: 'garbage' is not "
     r"allowed; allowed: CPU numbers and ranges as libgomp reads them, e.g. '0 1 2-3' or '0-7:2' \(or unset it\)", 2, ()),
    ("gomp-affinity-valid", setenv(GOMP_CPU_AFFINITY="0-1, 0"), STUDY, None, 0, ()),
    ("dask-address-tls", both(dask_backend, empty_cache, setenv(DASK_SCHEDULER_ADDRESS="tls://127.0.0.1:8786")), STUDY,
     r"error: DASK_SCHEDULER_ADDRESS: 'tls://127.0.0.1:8786' uses tls://; allowed: tcp://HOST:PORT of a Dask scheduler",
     2, ()),
    ("dask-address-ucx", both(dask_backend, empty_cache, setenv(DASK_SCHEDULER_ADDRESS="ucx://127.0.0.1:8786")), STUDY,
     r"error: DASK_SCHEDULER_ADDRESS: 'ucx://127.0.0.1:8786' uses ucx://; allowed: tcp://HOST:PORT .*", 2, ()),
    ("dask-config-invalid", both(dask_backend, empty_cache, setenv(DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="abc")),
     STUDY, r"error: Dask: could not start \(KeyError: 'Invalid time unit: abc\..*\); allowed: a valid Dask "
     r"configuration \(DASK_\* variables set here: DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT\)", 2, ()),
]
PROGRESS = re.compile(r"(search|retrain) \S+: \d+ (of \d+ trainings to run|cached trainings retrained)")


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted((repo / "metrics").rglob("*"))
            if p.is_file()} | {name: (repo / name).read_bytes() for name in ("results.md", *CURVE_OUTS[1:])
                   if (repo / name).is_file()}


@pytest.mark.parametrize("fault, command, line, status, may_change", [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_fault(project, tmp_path, fault, command, line, status, may_change):
    base, store = project
    repo = clone(base, tmp_path / "repo")
    cache = shutil.copytree(store, tmp_path / "store")
    extra = fault(repo, cache) or {}
    before, names = snapshot(repo), sorted(os.listdir(repo))
    out = run(repo, *command, check=False, env={**env(repo), "DIGITCMP_CACHE": str(cache), **extra}, timeout=300)
    assert sorted(os.listdir(repo)) == names  # e.g. no directory named after DIGITCMP_CACHE's value
    lines = [x for x in out.stderr.splitlines() if not PROGRESS.match(x)]
    assert out.returncode == status, out.stderr
    if line is None:
        assert lines == []
    else:
        assert len(lines) == 1 and re.fullmatch(line, lines[0]), out.stderr
    after = snapshot(repo)
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} <= set(may_change)
    assert not list(repo.rglob(".*.tmp")) and not list(repo.glob("*.json"))



@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:  # closed before anyone connected: the case's client gave up first
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.parametrize("address, line", [
    ("tcp://127.0.0.1:1", r"'tcp://127.0.0.1:1' could not be reached \(.*\); allowed: the address of a running "
                          r"Dask scheduler, or unset it for a local cluster"),
    ("tcp://127.0.0.1:notaport", r"'tcp://127.0.0.1:notaport' is malformed \(.*\); allowed: tcp://HOST:PORT"),
    ("garbage:::", r"'garbage:::' is malformed .*"),
    ("tcp://no-such-host.invalid:8786", r"'tcp://no-such-host.invalid:8786' could not be reached .*"),
    ("SILENT", r"'SILENT' accepted the connection but did not answer within 2 s; allowed: .*"),
], ids=["refused", "bad-port", "malformed", "unknown-host", "accepts-and-never-answers"])
def test_dask_scheduler_faults_are_one_line_in_bounded_time(silent_server, address, line):
    from digitcmp.cluster import check_scheduler
    from digitcmp.errors import UserError

    address = silent_server if address == "SILENT" else address
    with pytest.raises(UserError) as err:
        check_scheduler(address, timeout=1)
    assert re.match("DASK_SCHEDULER_ADDRESS: " + line.replace("SILENT", re.escape(address)), str(err.value))


def test_a_real_scheduler_passes_the_check():
    from dask.distributed import LocalCluster

    from digitcmp.cluster import check_scheduler

    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:  # tcp://, as a real one
        check_scheduler(cluster.scheduler_address, timeout=5)


def test_ctrl_c_while_a_stage_imports_is_one_line(project, tmp_path):
    """SIGINT right after the stage's first instruction, while torch and the rest import."""
    base, _ = project
    code = ("import os, runpy, signal; import stages; os.kill(os.getpid(), signal.SIGINT); "
            f"runpy.run_module('stages.study', run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", code, ARCH], cwd=base, env=env(base), capture_output=True,
                         text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert out.returncode == 130
    assert out.stderr.splitlines() == ["interrupted: finished trainings are cached; rerun `dvc repro` to continue"]


# --- A full disk and a file-size limit: one line naming the file; an optional cache is dropped ---

def in_tiny_tmpfs(mountpoint: Path, *command: str, fill: bool = False) -> list[str]:
    """`command` with a 4 kB tmpfs over `mountpoint` (filled first, if `fill`), in a user and
    mount namespace of its own, so that a real ENOSPC hits the files written there."""
    script = 'mount -t tmpfs -o size=4k tmpfs "$0" || exit 99; '
    script += 'head -c 65536 /dev/zero > "$0/fill" 2>/dev/null; ' if fill else ''
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script + 'exec "$@"', str(mountpoint),
            *command]


def tmpfs_available(tmp_path: Path) -> bool:
    probe = subprocess.run(in_tiny_tmpfs(tmp_path, "true"), capture_output=True, timeout=30) if shutil.which(
        "unshare") else None
    return probe is not None and probe.returncode == 0


def test_a_full_cache_is_a_warning_and_the_stage_goes_on(project, tmp_path):
    base, _ = project
    if not tmpfs_available(tmp_path):
        pytest.skip("no user namespaces here to mount a tiny tmpfs")
    repo, store = clone(base, tmp_path / "repo"), tmp_path / "full"
    store.mkdir()
    before = snapshot(repo)
    out = run(repo, *in_tiny_tmpfs(store, *STUDY), check=False, env={**env(repo), "DIGITCMP_CACHE": str(store)},
              timeout=300)
    lines = [x for x in out.stderr.splitlines() if not PROGRESS.match(x)]
    assert out.returncode == 0, out.stderr
    assert len(lines) == 1 and re.fullmatch(
        rf"warning: {store}/[0-9a-f]{{64}}\.json: No space left on device; the training cache cannot be written, the "
        r"stage goes on without storing its trainings \(free space there, or set DIGITCMP_CACHE to another "
        r"directory or off\)", lines[0]), out.stderr
    assert snapshot(repo) == before  # the same trainings: byte-identical results


def test_a_full_disk_under_an_output_is_one_line_naming_it(project, tmp_path):
    base, store = project
    if not tmpfs_available(tmp_path):
        pytest.skip("no user namespaces here to mount a tiny tmpfs")
    repo = clone(base, tmp_path / "repo")
    before = snapshot(repo)
    out = run(repo, *in_tiny_tmpfs(repo / "metrics/runs", *STUDY, fill=True), check=False,
              env={**env(repo), "DIGITCMP_CACHE": str(store)}, timeout=300)
    assert out.returncode == 1, out.stderr
    assert out.stderr.splitlines() == [f"error: {OUTS[1]}: No space left on device; allowed: free space on its disk"]
    assert snapshot(repo) == before and not list(repo.rglob(".*.tmp"))  # the search's output not replaced either


def test_a_file_size_limit_in_prepare_is_one_line_naming_the_file(project, tmp_path):
    """`ulimit -f` below the pools' size: EFBIG (Python ignores SIGXFSZ), reported with the file."""
    import resource

    base, _ = project
    repo = clone(base, tmp_path / "repo")
    prepared = {p.name: p.read_bytes() for p in (repo / "data/prepared").iterdir()}
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))  # noqa: E731
    out = subprocess.run(["python", "-m", "stages.prepare"], cwd=repo, env=env(repo), capture_output=True, text=True,
                         preexec_fn=limit, timeout=300)
    assert out.returncode == 1, out.stderr
    assert out.stderr.splitlines() == ["error: data/prepared/train_images.npy: File too large; allowed: a file-size "
                                       "limit (ulimit -f) above what the stage writes"]
    assert {p.name: p.read_bytes() for p in (repo / "data/prepared").iterdir()} == prepared


# --- With the real DVC CLI -------------------------------------------------------------------

@pytest.mark.parametrize("before, after, line", [
    ("  seed: 0", "  seed: false", "data.seed: False is not allowed; allowed: an integer >= 0"),
    ("  standardise: true", "  standardise: 1", "train.standardise: 1 is not allowed; allowed: true or false"),
    ("  epochs: 1", "  epochs: 1.0", "train.epochs: 1.0 is not allowed; allowed: an integer >= 1"),
    ("    hidden: 8\n    lambda: 0.5\n  conv2x", "    hidden: 8.0\n    lambda: 0.5\n  conv2x",
     "extras.probcmp_conv.hidden: 8.0 is not allowed; allowed: an integer >= 1, or a list of them"),
], ids=["seed-false", "standardise-1", "epochs-1.0", "extra-hidden-8.0"])
def test_an_edit_dvc_compares_as_equal_is_still_validated(project, tmp_path, before, after, line):
    """DVC compares params by value (False == 0, 1.0 == 1), so no stage's params changed;
    `check` also depends on params.yaml's bytes, reruns and refuses the type."""
    repo = clone(project[0], tmp_path / "repo")
    text = (repo / "params.yaml").read_text()
    assert text.count(before) == 1
    (repo / "params.yaml").write_text(text.replace(before, after))
    out = run(repo, "dvc", "repro", check=False, timeout=300)
    assert out.returncode != 0
    assert [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("error: ")] == [f"error: {line}"]
    assert ran_stages(out.stdout) == {"check"}


def test_an_experiment_with_a_value_equal_to_the_old_one_is_refused(project, tmp_path):
    repo = clone(project[0], tmp_path / "repo")
    out = run(repo, "dvc", "exp", "run", "-S", "train.standardise=1", check=False, timeout=300)
    assert out.returncode != 0
    assert "error: train.standardise: 1 is not allowed; allowed: true or false" in out.stdout + out.stderr
    assert run(repo, "dvc", "exp", "list", "--all-commits", "--name-only", timeout=120).stdout.strip() == ""


def test_a_stage_that_cannot_run_keeps_the_committed_results(project, tmp_path):
    """On a fresh clone (no data/prepared), `dvc repro -s report` fails; its committed outputs
    are persistent, so DVC does not delete them first. `dvc repro` then runs check and prepare."""
    repo = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(project[0]), str(repo), timeout=120)
    out = run(repo, "dvc", "repro", "-s", "report", check=False, timeout=300)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert run(repo, "git", "status", "--porcelain", "--untracked-files=no", timeout=60).stdout == ""
    out = run(repo, "dvc", "repro", timeout=300)
    assert ran_stages(out.stdout) <= {"check", "prepare"}
    assert run(repo, "git", "status", "--porcelain", "--untracked-files=no", timeout=60).stdout == ""


def test_special_files_beside_the_idx_files_do_not_hang_dvc(project, tmp_path):
    """.dvcignore keeps raw/ to the four IDX names: DVC would read a FIFO or /dev/zero for ever."""
    repo = clone(project[0], tmp_path / "repo")
    raw = repo / "data/mnist/MNIST/raw"
    os.mkfifo(raw / "stray-fifo")
    (raw / "zeros").symlink_to("/dev/zero")
    out = run(repo, "dvc", "status", "prepare", check=False, timeout=120)
    assert out.returncode == 0 and "raw" not in out.stdout, out.stdout


@pytest.mark.parametrize("committed, workspace, line", [
    ("{oops", None, r"HEAD:metrics/runs/shallow_sharing_aux\.json: unreadable \(not JSON\); run `dvc repro "
                    r"study@shallow_sharing_aux, then commit it`"),
    ('{"test_acc": [0.5, 0.6]}', '{"mean": 0.5}', r"metrics/runs/shallow_sharing_aux\.json: test_acc is None, not a "
                                                  r"list; run `dvc repro study@shallow_sharing_aux`"),
    ('{"test_acc": [0.5, 0.6]}', '{"test_acc": ["x", 0.6]}', r"metrics/runs/shallow_sharing_aux\.json: test_acc "
                                                             r"holds 'x', not accuracies in \[0, 1\]; run .*"),
], ids=["committed-garbage", "workspace-incomplete", "workspace-not-numbers"])
def test_compare_runs_on_a_damaged_runs_file_is_one_line(tmp_path, committed, workspace, line):
    repo = tmp_path / "repo"
    path = repo / f"metrics/runs/{ARCH}.json"
    path.parent.mkdir(parents=True)
    path.write_text(committed)
    for name in ("dvc.yaml", "params.yaml"):  # where compare_runs finds each architecture's runs file
        shutil.copy(Path(__file__).resolve().parents[1] / name, repo / name)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@digitcmp.invalid", "-c", "user.name=t", "commit",
                                                 "-qm", "runs"]):
        subprocess.run(["git", *args], cwd=repo, check=True, timeout=60)
    if workspace is not None:
        path.write_text(workspace)
    out = subprocess.run([sys.executable, "-m", "scripts.compare_runs", "HEAD"], cwd=repo, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
                         timeout=120)
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 1 and re.fullmatch("error: " + line, out.stderr.strip()), out.stderr
