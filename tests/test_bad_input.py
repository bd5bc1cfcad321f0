"""Bad input, one row per case: what the user gave (a params override or a damaged file),
the one line they get, the exit status, and which outputs may change (none, for a refusal).

Most rows call the stage's `main` in this process, through the same handler as the
stage script (`digitcmp.stage.run_stage`'s rule: a UserError is `error: ...`, exit 2);
rows marked `proc` run `python -m stages.<name>` as a user does and also check that
stderr is exactly that one line, with no traceback.
"""

import copy
import importlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

import numpy as np
import pytest
import yaml

from digitcmp import params as P
from digitcmp.data import prepare_arrays, save_prepared
from digitcmp.errors import UserError
from digitcmp.search import grid_points
from tests.dvcproject import ROOT, TINY, study_argv, with_pairs

MNIST = {"source": "mnist", "root": "data/mnist", "download": False, "n_pairs": 10, "seed": 0}
RAW = Path("data/mnist/MNIST/raw")
TRAIN_IMAGES, TRAIN_LABELS = RAW / "train-images-idx3-ubyte", RAW / "train-labels-idx1-ubyte"
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}  # refused at once


def mnist_params() -> dict:
    """TINY on the small IDX files (10 pairs)."""
    return with_pairs({**TINY, "data": dict(MNIST)}, MNIST["n_pairs"])


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(repo: Path, n_train: int = 40, n_test: int = 30, seed: int = 0) -> None:
    """Small, valid IDX files (the real ones cannot be downloaded here)."""
    raw = repo / RAW
    raw.mkdir(parents=True, exist_ok=True)
    gen = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(gen.integers(0, 256, (n, 28, 28))))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(n) % 10))


# --- damage: each takes the case's directory -------------------------------------------

def put(path: Path, blob: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(repo: Path) -> None:
        target = repo / path
        target.write_bytes(blob(target.read_bytes()) if callable(blob) else blob)
    return damage


def replace_with(path: Path, make: Callable[[Path], None]) -> Callable[[Path], None]:
    def damage(repo: Path) -> None:
        (repo / path).unlink()
        make(repo / path)
    return damage


def edit_manifest(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(repo: Path) -> None:
        path = repo / "data/prepared/manifest.json"
        manifest = json.loads(path.read_text())
        edit(manifest)
        path.write_text(json.dumps(manifest))
    return damage


def set_in(tree: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree[key]
    tree[last] = value


def reprepare(change: Callable[[dict], None]) -> Callable[[Path], None]:
    """Prepared data with consistent hashes but wrong contents."""
    def damage(repo: Path) -> None:
        arrays = prepare_arrays("mnist5k", 0, 60, 2)
        change(arrays)
        save_prepared(repo / "data/prepared", arrays, {"source": "mnist5k", "seed": 0, "n_pairs": 60, "repeats": 2})
    return damage


def sparse_idx(count: int) -> Callable[[Path], None]:
    """A consistent IDX images file of `count` images: its header, then a hole of the right size."""
    def damage(repo: Path) -> None:
        with open(repo / TRAIN_IMAGES, "wb") as f:
            f.write(struct.pack(">HBB3I", 0, 0x08, 3, count, 28, 28))
            f.truncate(16 + count * 28 * 28)
    return damage


def no_images(repo: Path) -> None:
    for prefix in ("train", "t10k"):
        (repo / RAW / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((0, 28, 28))))
        (repo / RAW / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(0)))


def labels_above_9(arrays: dict) -> None:
    arrays["train_labels"][3] = 12


def draws_outside_pool(arrays: dict) -> None:
    arrays["draws"][1, 1, 0] = 99999


@dataclass
class Case:
    id: str
    argv: list[str]  # stage (module under stages/) and its arguments
    message: str | None  # regex of the one stderr line (without "error: "); None: success
    params: dict = field(default_factory=dict)  # dotted key → value, over TINY (or data: MNIST)
    damage: Callable[[Path], None] | None = None
    code: int = 2
    may_change: tuple[str, ...] = ()  # paths (prefixes) that may change
    proc: bool = False  # run as a subprocess
    mnist: bool = False  # data.source mnist, with small IDX files
    env: dict = field(default_factory=dict)


NOT_ALLOWED = r"is not allowed; allowed: "
HINT = r"; rerun `dvc repro -f prepare`$"
IDX_HINT = r"; allowed: an uncompressed MNIST IDX file \(replace it, or delete it and set data.download: true\)$"
BIG = 2**70  # beyond int64
def study(arch: str) -> list[str]:
    """The study stage's arguments for `arch`, as dvc.yaml's command gives them."""
    return ["study", *study_argv(arch)[3:]]


STUDY = study("mlp_sharing_aux")

CASES = [
    # Grids: each value once (top-level axes, extras' axes and options), compared after casting.
    Case("dup-lr", ["prepare"], r"^lr: \[0\.001, 0\.001\] repeats 0\.001; allowed: distinct values$",
         {"lr": [1e-3, 1e-3]}),
    Case("dup-lr-int-float", ["prepare"], r"^lr: \[1\.0, 1\.0\] repeats 1\.0; allowed: distinct values$",
         {"lr": [1, 1.0]}),
    Case("dup-hidden", ["prepare"], r"^hidden: \[16, 16\] repeats 16; allowed: distinct values$", {"hidden": [16, 16]}),
    Case("dup-lambda", STUDY, r"^lambda: \[0\.5, 0\.5\] repeats 0\.5", {"lambda": [0.5, 0.5]}),
    Case("dup-extra-axis", ["prepare"], r"^extras\.deepmlp_sharing_aux\.hidden: \[8, 8\] repeats 8; allowed: distinct",
         {"extras.deepmlp_sharing_aux.hidden": [8, 8]}),
    Case("dup-extra-option", ["prepare"], r"^extras\.conv2x_sharing_aux\.activation: \['tanh', 'tanh'\] repeats",
         {"extras.conv2x_sharing_aux.activation": ["tanh", "tanh"]}),
    Case("dup-dropout-0-0.0", ["prepare"], r"^extras\.conv2x_sharing_aux\.dropout: \[0\.0, 0\.0\] repeats 0\.0",
         {"extras.conv2x_sharing_aux.dropout": [0, 0.0]}),
    # Device: the syntax, then what torch sees here, before any work.
    Case("device-cudaXYZ", ["prepare"], r"^train\.device: 'cudaXYZ' " + NOT_ALLOWED + r"'cpu' or 'cuda' \(or 'cuda:N'\)$",
         {"train.device": "cudaXYZ"}),
    Case("device-cuda:abc", STUDY, r"^train\.device: 'cuda:abc' " + NOT_ALLOWED, {"train.device": "cuda:abc"}),
    Case("device-cuda-none", STUDY, r"^train\.device: 'cuda' is not available: torch \S+ sees no CUDA device here; "
         r"allowed: cpu$", {"train.device": "cuda"}, proc=True),
    Case("device-cuda:7-curve", ["curve"], r"^train\.device: 'cuda:7' is not available", {"train.device": "cuda:7"}),
    # Sizes: memory and time estimated before work.
    Case("hidden-1e12", STUDY, r"^hidden: 1000000000000 needs about [\d,.]+ GiB per mlp_sharing_aux training "
         r"\(1 at once\); allowed: a grid whose trainings fit in this machine's [\d,.]+ GiB$",
         {"hidden": [10**12]}, proc=True),
    Case("hidden-beyond-int64", STUDY, rf"^hidden: {BIG} needs about", {"hidden": [16, BIG]}),
    Case("hidden-1e7-conv", study("conv2_sharing_noaux"), r"^hidden: 10000000 needs about", {"hidden": [10**7]}),
    Case("extra-hidden-1e9", study("deepmlp_sharing_aux"),
         r"^extras\.deepmlp_sharing_aux: lr 0\.001, hidden 1000000000, lambda 0\.5, depth 2.* needs about",
         {"extras.deepmlp_sharing_aux.hidden": 10**9}),
    Case("extra-width-1e9", study("probcmp_conv"), r"^extras\.probcmp_conv\.width: 1000000000 " + NOT_ALLOWED
         + r"an integer from 1 to 256$", {"extras.probcmp_conv.width": 10**9}),
    Case("extra-depth-1e9", ["prepare"], r"^extras\.deepmlp_sharing_aux\.depth: 1000000000 " + NOT_ALLOWED
         + r"an integer from 1 to 64$", {"extras.deepmlp_sharing_aux.depth": 10**9}),
    Case("repeats-1e9-prepare", ["prepare"], r"^train\.repeats: 1000000000 needs about [\d,.]+ GiB for the prepared "
         r"draws; allowed: data that fits in this machine's", {"train.repeats": 10**9}),
    Case("repeats-1e9-study", STUDY, r"^mlp_sharing_aux: 1 grid points and 1000000000 retrainings of 1 epochs make "
         r"3\.0e\+09 optimizer steps; allowed: at most 1e\+08 a stage", {"train.repeats": 10**9}),
    Case("epochs-1e12", STUDY, r"^mlp_sharing_aux: .* make 9\.0e\+12 optimizer steps", {"train.epochs": 10**12}),
    Case("curve-epochs-1e12", ["curve"], r"^curve: train\.curve_epochs 1000000000000 make 3\.0e\+12 optimizer steps",
         {"train.curve_epochs": 10**12}),
    # N: at least one pair to fit after the validation split, at most what the pools hold.
    Case("n_pairs-1", ["prepare"], r"^data\.n_pairs: 1 is out of range for source 'mnist5k' \(train\.val_fraction 0\.3 "
         r"must leave a pair to fit\); allowed: 2 to 1250$", {"data.n_pairs": 1}, proc=True),
    Case("n_pairs-2-val-0.9", ["prepare"], r"^data\.n_pairs: 2 .*allowed: 5 to 1250$",
         {"data.n_pairs": 2, "train.val_fraction": 0.9}),
    Case("val_fraction-0.9999", ["prepare"], r"^train\.val_fraction: 0\.9999 leaves no pair to fit for any "
         r"data\.n_pairs up to 1250; allowed: a smaller fraction$", {"train.val_fraction": 0.9999}),
    Case("pool-too-small", ["prepare"], r"^data\.n_pairs: 20 needs 40 images in each pool, but the test pool has 30; "
         r"allowed: 1 to 15 with these files$", {"data.n_pairs": 20}, mnist=True),
    # Keys: unknown ones refused wherever they are.
    Case("unknown-top-key", ["check"], r"^lamda: unknown key \(did you mean 'lambda'\?\); allowed: ",
         {"lamda": 0.5}, proc=True),
    Case("unknown-train-key", ["check"], r"^train\.epoch: unknown key \(did you mean 'epochs'\?\)", {"train.epoch": 3}),
    Case("unknown-extra-option", ["check"], r"^extras\.probcmp_conv\.widht: unknown key \(did you mean 'width'\?\)",
         {"extras.probcmp_conv.widht": 8}),
    Case("extra-without-grid", study("probcmp_conv"), r"^extras\.probcmp_conv: missing",
         {"extras": {}}),
    Case("unknown-arch", ["study", "conv3_sharing_aux"], r"^architecture: 'conv3_sharing_aux' " + NOT_ALLOWED),
    Case("params-not-yaml", ["prepare"], r"^params\.yaml: not valid YAML",
         damage=put(Path("params.yaml"), b"lr: [1e-3\nhidden: 5\n")),
    Case("params-missing", ["prepare"], r"^params\.yaml: not found; run from the project root",
         damage=lambda repo: (repo / "params.yaml").unlink()),
    # The mnist source: files checked (magic, sizes, counts, labels) and named.
    Case("mnist-missing", ["prepare"], r"^data\.source 'mnist': MNIST files not found; put train-images-idx3-ubyte, ",
         mnist=True, damage=lambda repo: shutil.rmtree(repo / RAW)),
    Case("mnist-download-offline", ["prepare"], r"^data\.download: could not download train-images-idx3-ubyte\.gz "
         r"\(https://\S+: .*Connection refused.*\); allowed: put .* by hand, or data\.source: mnist5k$",
         {"data.download": True}, mnist=True, damage=lambda repo: shutil.rmtree(repo / RAW), proc=True,
         env=OFFLINE, may_change=("data/mnist",)),
    Case("idx-random-bytes", ["prepare"], rf"^{TRAIN_IMAGES}: has magic number 0x\w+, expected 0x00000803" + IDX_HINT,
         mnist=True, damage=put(TRAIN_IMAGES, np.random.default_rng(1).bytes(5000))),
    Case("idx-wrong-magic", ["prepare"], rf"^{TRAIN_IMAGES}: has magic number 0x00000801, expected 0x00000803",
         mnist=True, damage=lambda repo: shutil.copy(repo / TRAIN_LABELS, repo / TRAIN_IMAGES)),
    Case("idx-truncated", ["prepare"], rf"^{TRAIN_IMAGES}: is 30000 bytes where its header \(40 items\) says 31376: "
         r"truncated" + IDX_HINT, mnist=True, damage=put(TRAIN_IMAGES, lambda b: b[:30000])),
    Case("idx-longer", ["prepare"], rf"^{TRAIN_IMAGES}: is 31377 bytes .*: longer than its header says",
         mnist=True, damage=put(TRAIN_IMAGES, lambda b: b + b"\0")),
    Case("idx-empty", ["prepare"], rf"^{TRAIN_LABELS}: is 0 bytes, shorter than its 8-byte header \(empty or truncated\)",
         mnist=True, damage=put(TRAIN_LABELS, b"")),
    Case("idx-32x32", ["prepare"], rf"^{TRAIN_IMAGES}: holds 32x32 images, expected 28x28",
         mnist=True, damage=put(TRAIN_IMAGES, idx_bytes(np.zeros((40, 32, 32))))),
    Case("idx-counts-disagree", ["prepare"], rf"^{TRAIN_LABELS}: holds 39 labels but train-images-idx3-ubyte holds 40 images",
         mnist=True, damage=put(TRAIN_LABELS, idx_bytes(np.arange(39) % 10))),
    Case("idx-label-above-9", ["prepare"], rf"^{TRAIN_LABELS}: has label 12 at index 5; digits are 0 to 9",
         mnist=True, damage=put(TRAIN_LABELS, idx_bytes(np.where(np.arange(40) == 5, 12, np.arange(40) % 10)))),
    Case("idx-directory", ["prepare"], rf"^{TRAIN_IMAGES}: is not a regular file" + IDX_HINT,
         mnist=True, damage=replace_with(TRAIN_IMAGES, Path.mkdir)),
    Case("idx-fifo", ["prepare"], rf"^{TRAIN_IMAGES}: is not a regular file", mnist=True,
         damage=replace_with(TRAIN_IMAGES, os.mkfifo), proc=True),
    Case("idx-dangling-link", ["prepare"], rf"^{TRAIN_IMAGES}: cannot be read \(No such file or directory\)",
         mnist=True, damage=replace_with(TRAIN_IMAGES, lambda p: p.symlink_to("nowhere"))),
    Case("idx-processed-pt-ignored", ["prepare"], None, mnist=True, code=0, may_change=("data/prepared",),
         damage=lambda repo: (repo / "data/mnist/MNIST/processed").mkdir() or
         (repo / "data/mnist/MNIST/processed/training.pt").write_bytes(b"not torch")),
    # Prepared data: layout, hashes and consistency checked before training; the hint repairs.
    Case("prepared-manifest-missing", STUDY, r"^data/prepared: manifest\.json is missing" + HINT,
         damage=lambda repo: (repo / "data/prepared/manifest.json").unlink()),
    Case("prepared-manifest-garbage", STUDY, r"^data/prepared: manifest\.json is unreadable \(not JSON\)" + HINT,
         damage=put(Path("data/prepared/manifest.json"), b"\x00{not json")),
    Case("prepared-manifest-list", STUDY, r"^data/prepared: manifest\.json lacks its 'files' and 'params' mappings" + HINT,
         damage=put(Path("data/prepared/manifest.json"), b"[]"), proc=True),
    Case("prepared-manifest-no-entry", STUDY, r"^data/prepared: manifest\.json has no valid entry for draws\.npy" + HINT,
         damage=edit_manifest(lambda m: m["files"].pop("draws"))),
    Case("prepared-manifest-bad-param", STUDY, r"^data/prepared: manifest\.json has params\.repeats 'two'" + HINT,
         damage=edit_manifest(lambda m: set_in(m, "params.repeats", "two"))),
    Case("prepared-manifest-wrong-n", STUDY, r"^data/prepared: draws\.npy is \[3, 2, 120\] int64, but manifest\.json's "
         r"params \(n_pairs 100, repeats 2\) need \[3, 2, 200\] int64" + HINT,
         damage=edit_manifest(lambda m: set_in(m, "params.n_pairs", 100))),
    Case("prepared-manifest-wrong-hash", STUDY, r"^data/prepared: draws\.npy does not match its hash in manifest\.json "
         r"\(truncated or edited\?\)" + HINT, damage=edit_manifest(lambda m: set_in(m, "files.draws.sha256", "0" * 64))),
    Case("prepared-truncated", STUDY, r"^data/prepared: train_images\.npy does not match its hash",
         damage=put(Path("data/prepared/train_images.npy"), lambda b: b[:-100])),
    Case("prepared-npy-missing", STUDY, r"^data/prepared: test_labels\.npy is missing" + HINT,
         damage=lambda repo: (repo / "data/prepared/test_labels.npy").unlink()),
    Case("prepared-older-params", STUDY, r"^data/prepared was prepared with repeats=2 but params say 5; "
         r"run `dvc repro prepare`$", {"train.repeats": 5}),
    Case("prepared-labels-above-9", STUDY, r"^data/prepared: train_labels\.npy has labels outside 0 to 9" + HINT,
         damage=reprepare(labels_above_9)),
    Case("prepared-draws-outside-pool", STUDY, r"^data/prepared: draws\.npy indexes outside the test pool" + HINT,
         damage=reprepare(draws_outside_pool)),
    # Special files and sizes: refused before a read that would block for ever or fill memory.
    Case("prepared-npy-fifo", STUDY, r"^data/prepared: draws\.npy is unreadable \(is a FIFO, not a regular file\)"
         + HINT, damage=replace_with(Path("data/prepared/draws.npy"), os.mkfifo), proc=True),
    Case("prepared-npy-dev-zero", STUDY, r"^data/prepared: train_images\.npy is unreadable \(is a character device, "
         r"not a regular file\)" + HINT, damage=replace_with(Path("data/prepared/train_images.npy"),
                                                              lambda p: p.symlink_to("/dev/zero")), proc=True),
    Case("prepared-npy-longer-than-manifest", STUDY, r"^data/prepared: draws\.npy is unreadable \(is 1,000,000 bytes; "
         r"allowed: at most 71,296\)" + HINT, damage=put(Path("data/prepared/draws.npy"), b"\0" * 10**6)),
    Case("prepared-manifest-fifo", STUDY, r"^data/prepared: manifest\.json is unreadable \(is a FIFO, not a regular "
         r"file\)" + HINT, damage=replace_with(Path("data/prepared/manifest.json"), os.mkfifo), proc=True),
    Case("prepared-manifest-2^40-images", STUDY, r"^data/prepared: manifest\.json gives train_images\.npy "
         r"862,017,116,176,384 bytes, more than this machine's memory" + HINT,
         damage=edit_manifest(lambda m: set_in(m, "files.train_images.shape", [2**40, 14, 14]))),
    Case("params-fifo", ["check"], r"^params\.yaml: unreadable \(is a FIFO, not a regular file\); allowed: a YAML file",
         damage=replace_with(Path("params.yaml"), os.mkfifo), proc=True),
    Case("idx-dev-zero-link", ["prepare"], rf"^{TRAIN_IMAGES}: is not a regular file" + IDX_HINT, mnist=True,
         damage=replace_with(TRAIN_IMAGES, lambda p: p.symlink_to("/dev/zero")), proc=True),
    Case("idx-2^24-images", ["prepare"], rf"^{TRAIN_IMAGES}: holds 16,777,216 items, about 73\.5 GiB to read and pool; "
         r"more than this machine's [\d,.]+ GiB" + IDX_HINT, mnist=True, damage=sparse_idx(2**24), proc=True),
    Case("idx-no-images", ["prepare"], rf"^{TRAIN_IMAGES}: holds no images" + IDX_HINT, mnist=True,
         damage=no_images),
    # Keys that do not show as typed.
    Case("unknown-key-zero-width", ["check"], r"^'hidden\\u200b': unknown key \(did you mean 'hidden'\?\); allowed: ",
         {"hidden\u200b": [16]}, proc=True),
    Case("unknown-key-trailing-space", ["check"], r"^'train\.epochs ': unknown key \(did you mean 'epochs'\?\)",
         {"train.epochs ": 3}),
    # scripts.conditions: the study stage's checks and the params' reader, before any work.
    Case("conditions-cuda", ["scripts.conditions", "train.device=cuda"], r"^train\.device: 'cuda' is not available: "
         r"torch \S+ sees no CUDA device here; allowed: cpu$", proc=True),
    Case("conditions-hidden-1e12", ["scripts.conditions", "hidden=1000000000000"], r"^hidden: 1000000000000 needs about "
         r"[\d,.]+ GiB per shallow_nosharing_noaux training", proc=True),
    Case("conditions-below-a-scalar", ["scripts.conditions", "data.seed.x=1"], r"^override: data\.seed\.x: data\.seed "
         r"is 0, not a mapping; allowed: KEY=VALUE where KEY is a key of params\.yaml$", proc=True),
    Case("conditions-not-yaml", ["scripts.conditions", "train.epochs=[1"], r"^override: 'train\.epochs=\[1': the value "
         r"is not plain YAML \(.+\); allowed: KEY=VALUE with a YAML value, e\.g\. train\.epochs=5$", proc=True),
    Case("conditions-yaml-tag", ["scripts.conditions", "train.epochs=!!python/name:os.system"],
         r"^override: 'train\.epochs=!!python/name:os\.system': the value is not plain YAML", proc=True),
    Case("conditions-unknown-key", ["scripts.conditions", "train.epoch=3"], r"^train\.epoch: unknown key"),
    Case("conditions-out-unwritable", ["scripts.conditions", "--out", "params.yaml/x.json"],
         r"^params\.yaml/x\.json: cannot be written \(.*\); allowed: a file in a writable directory$",
         proc=True),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A directory with TINY's prepared data (what the training stages read)."""
    repo = tmp_path_factory.mktemp("template")
    save_prepared(repo / "data/prepared", prepare_arrays("mnist5k", 0, 60, 2), {"source": "mnist5k", "seed": 0,
                                                                               "n_pairs": 60, "repeats": 2})
    return repo


def case_dir(case: Case, template: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "case"
    shutil.copytree(template, repo)
    params = mnist_params() if case.mnist else copy.deepcopy(TINY)
    if case.mnist:
        write_mnist(repo)
    for key, value in case.params.items():
        if "." in key:
            set_in(params, key, value)
        else:
            params[key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if case.damage:
        case.damage(repo)
    return repo


def snapshot(repo: Path) -> dict[str, bytes | tuple]:
    """Each file's bytes; a file too large to read (a sparse IDX file claiming 2^24 images) by size and time."""
    return {p.relative_to(repo).as_posix(): p.read_bytes() if p.stat().st_size < 2**27 else
            (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(repo.rglob("*"))
            if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts}


def run_in_process(argv: list[str]) -> tuple[int, str]:
    """The stage's main under run_stage's rule, in this process."""
    main = importlib.import_module(module(argv[0])).main
    err = io.StringIO()
    with redirect_stderr(err):
        try:
            main(argv[1:])
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2, err.getvalue()
    return 0, err.getvalue()


def module(name: str) -> str:
    """A stage's name (its module under stages/), or a script's module (`scripts.conditions`)."""
    return name if "." in name else f"stages.{name}"


def run_process(argv: list[str], repo: Path, extra_env: dict) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIGITCMP_CACHE": "off", **extra_env}
    proc = subprocess.run([sys.executable, "-m", module(argv[0]), *argv[1:]], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, template, tmp_path, monkeypatch):
    repo = case_dir(case, template, tmp_path)
    before = snapshot(repo)
    if case.proc:
        code, stderr = run_process(case.argv, repo, case.env)
        assert "Traceback" not in stderr
    else:
        monkeypatch.chdir(repo)
        monkeypatch.setenv("DIGITCMP_CACHE", "off")
        code, stderr = run_in_process(case.argv)
    assert code == case.code, stderr
    lines = stderr.strip().splitlines()
    if case.message is None:
        assert not any(line.startswith("error:") for line in lines)
    else:
        assert len(lines) == 1, stderr
        assert lines[0].startswith("error: ")
        assert re.search(case.message, lines[0][len("error: "):]), lines[0]
    after = snapshot(repo)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert all(p.startswith(case.may_change) for p in changed) if case.may_change else not changed, changed


def test_enough_rows():
    assert len(CASES) >= 40 and sum(c.proc for c in CASES) >= 6


def test_leftover_processed_file_never_overrides_the_raw_files(tmp_path):
    """A stale torchvision cache next to the raw files is not read: the pools come from the IDX files."""
    from digitcmp.data import load_pools

    write_mnist(tmp_path, seed=1)
    root = tmp_path / "data/mnist"
    pools = load_pools("mnist", root=root)
    processed = root / "MNIST/processed"
    processed.mkdir()
    for name in ("training.pt", "test.pt"):
        (processed / name).write_bytes(b"stale")
    again = load_pools("mnist", root=root)
    assert all(np.array_equal(getattr(pools, k), getattr(again, k)) for k in ("train_images", "test_labels"))


def test_dropout_0_and_0_0_are_one_grid_point_with_one_seed():
    def points(dropout):
        params = copy.deepcopy(TINY)
        params["extras"]["conv2x_sharing_aux"]["dropout"] = dropout
        return grid_points("conv2x_sharing_aux", P.validate(params))

    assert points(0) == points(0.0) and repr(points(0)) == repr(points(0.0))
    assert repr(points([0, 0.25])) == repr(points([0.0, 0.25]))


# --- With the real DVC CLI ----------------------------------------------------------------

def test_replaced_mnist_file_reruns_prepare(tmp_path):
    """The mnist source's IDX files are the prepare stage's dependency: replacing one makes
    `dvc status` report prepare, and `dvc repro` rebuilds the data from the new file."""
    from tests.dvcproject import dvc, make_project

    params = mnist_params()
    repo = make_project(tmp_path / "repo", params)
    write_mnist(repo)
    dvc(repo, "repro", "prepare")
    assert "changed" not in dvc(repo, "status", "prepare").stdout
    before = (repo / "data/prepared/train_images.npy").read_bytes()
    write_mnist(repo, seed=1)  # new images, same sizes
    status = dvc(repo, "status", "prepare").stdout
    assert "prepare:" in status and "modified:           data/mnist/MNIST/raw" in status
    assert "Running stage 'prepare'" in dvc(repo, "repro", "prepare").stdout
    assert (repo / "data/prepared/train_images.npy").read_bytes() != before


def test_unknown_key_fails_an_experiment_that_would_run_nothing_else(repo):
    """After a full `dvc repro`, a new misspelt key changes no stage's declared params; the
    check stage (which depends on the whole file) fails the experiment with one line."""
    from tests.dvcproject import dvc

    out = dvc(repo, "exp", "run", "-S", "+lamda=0.5", check=False)
    assert out.returncode != 0
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("error: ")]
    assert errors == ["error: lamda: unknown key (did you mean 'lambda'?); allowed: lr, hidden, lambda, data, train, "
                      "extras"]
    assert "Running stage 'check'" in out.stdout and "Running stage 'study" not in out.stdout


def test_compare_runs_takes_its_argument_as_a_revision_only(tmp_path):
    """A revision that starts with a dash is not passed to git as an option (git would
    write --output's file)."""
    repo, revision = tmp_path / "repo", "--output=evil.txt"
    repo.mkdir()
    for args in (["init", "-q"], ["-c", "user.email=t@digitcmp.invalid", "-c", "user.name=t", "commit", "-q",
                                  "--allow-empty", "-m", "empty"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    proc = subprocess.run([sys.executable, "-m", "scripts.compare_runs", revision], cwd=repo, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: {revision}: not a git revision or DVC experiment here; allowed: a commit, "
                                      f"branch, tag or experiment name (`dvc exp list`)"]
    assert sorted(p.name for p in repo.iterdir()) == [".git"]
