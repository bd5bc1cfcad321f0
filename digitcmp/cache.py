"""The training cache: one JSON file per finished training, checked when read.

Key: a hash of everything that decides a training's result: the task (its spec, with
the resolved precision, the draw and the split), the prepared data's fingerprint, the
device, the host kind that computes it (digitcmp.host: CPU kind, ISA flags, torch, BLAS,
oneDNN; bits differ between kinds, so one kind's entry is never served to another), the
torch version and the source of every module of the checkout's own
digitcmp.training package, the code that turns a task into its result (see its
docstring), not a hand-kept list: editing any module in it makes every entry miss, and
editing one outside it (validation, scheduling, this cache, files, messages) keeps every
entry. The one exception: an extra architecture's own module
(digitcmp/training/extras/<x>.py) counts for its own trainings only (and for those of
an extra that imports it).

Where: `$DIGITCMP_CACHE`, a directory or `off`. Unset or empty: when DVC runs the
stage, `$DVC_ROOT/.cache/trainings` (DVC_ROOT is the main repository, also for
`dvc exp run --temp` and queued experiments, which run in a copy under .dvc/tmp), so
experiments reuse and resume the workspace's trainings; else `.cache/trainings` in the
project root. A directory that cannot be used (a file, not writable) means no cache,
with one warning line.

Entries: `{"key": <key>, "host": <host kind id>, "result": <TrainResult as a dict>}`. Read back, an entry must
carry the key its name says, have the result's schema and types, and hold finite
accuracies in [0, 1], each a count of correct answers over its set's size; anything
else is recomputed, with one warning line naming the file. An edit to another such
count passes these checks: verification catches it.

Verification: `DIGITCMP_VERIFY=k` retrains k randomly chosen cached trainings of each
training step and compares them bit-for-bit with their entries (training is
deterministic on one host kind); a mismatch names the entry and stops the stage. A
retraining that ran on another host kind (a mixed Dask cluster) is not compared: its bits
may differ by design.
"""

import ast
import functools
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import torch

from digitcmp.errors import UserError
from digitcmp.files import dumps_json, read_json, unreadable, write_json
from digitcmp.training import checks

PACKAGE = Path(__file__).resolve().parent / "training"  # what the key hashes
EXTRAS_MODULE = "digitcmp.training.extras"
RESULT_KEYS = {"acc", "digit_acc", "diverged", "epochs_run", "history"}


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _architecture_module(relative: Path) -> bool:
    """Whether a module is one extra architecture's own (`digitcmp/training/extras/<module>.py`)."""
    return relative.parts[0] == "extras" and relative.name != "__init__.py"


def _own_modules(relative: Path, package: Path) -> set[Path]:
    """An extra's own module and the other extras' modules it imports (an extra may build
    on another's, e.g. `from digitcmp.training.extras.probcmp_conv import REGISTER`)."""
    found, todo = set(), [relative]
    while todo:
        module = todo.pop()
        found.add(module)
        for node in ast.walk(ast.parse((package / module).read_text())):
            name = node.module if isinstance(node, ast.ImportFrom) and node.module else ""
            if name.startswith(f"{EXTRAS_MODULE}."):
                nxt = Path("extras", f"{name.rsplit('.', 1)[1]}.py")
                todo += [] if nxt in found else [nxt]
    return found


@functools.cache
def code_fingerprint(arch: str | None = None, package: Path = PACKAGE) -> str:
    """The torch version and the source of every module of the digitcmp.training package,
    except the extra architectures' modules that `arch`'s trainings do not import: an
    extra's module decides only its own trainings (and those of an extra built on it), so
    adding or editing one keeps every other training's entries. `arch` None: every module."""
    from digitcmp.training.registry import SOURCES  # lazily: the registry builds models

    own = _own_modules(SOURCES[arch].resolve().relative_to(PACKAGE), package) if arch else set()
    h = hashlib.sha256(f"torch {torch.__version__}\n".encode())
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if arch and _architecture_module(relative) and relative not in own:
            continue
        h.update(f"{relative.as_posix()}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def task_key(task: dict, data_fingerprint: str, device: str, host_kind: str) -> str:
    code = code_fingerprint(task["spec"]["arch"])
    what = dumps_json({"task": task, "data": data_fingerprint, "device": device, "host": host_kind, "code": code})
    return hashlib.sha256(what.encode()).hexdigest()


def default_dir() -> Path:
    root = os.environ.get("DVC_ROOT")
    return (Path(root) if root else Path()) / ".cache" / "trainings"


def cache_dir() -> Path | None:
    """The cache directory, or None: `off`, or a directory that cannot be used."""
    value = os.environ.get("DIGITCMP_CACHE", "")
    if value.strip().lower() == "off":  # OFF or ' off ' mean off too, never a directory of that name
        return None
    if value != value.strip() or not value.isprintable():
        raise UserError(f"DIGITCMP_CACHE: {value!r} is not allowed; allowed: off, or a directory path without "
                        f"spaces at its ends or control characters (empty: the default)")
    return _usable(Path(value) if value else default_dir())


@functools.cache  # one check (and at most one warning) per process
def _usable(path: Path) -> Path | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        warn(f"{path}: training cache unusable ({err.strerror or err}); training without a cache. "
             f"Fix or remove it, or set DIGITCMP_CACHE to a writable directory (or off)")
        return None
    return path


def _accuracies(value, sizes: dict[str, int], exact: bool) -> str | None:
    """Why `value` is not {set: accuracy} over sets of `sizes` pairs (a count of correct
    pairs over the set's size, so an edited number is usually caught), or None."""
    if not isinstance(value, dict):
        return f"not an object: {str(value)[:40]!r}"
    if (set(value) != set(sizes)) if exact else not set(value) <= set(sizes):
        return f"sets {sorted(value)[:4]}, expected {sorted(sizes)}"
    for name, acc in value.items():
        if not checks.number(0, 1)(acc):
            return f"{name} = {str(acc)[:20]} is not an accuracy in [0, 1]"
        if round(acc * sizes[name]) / sizes[name] != acc:
            return f"{name} = {acc} is not a count of correct answers out of {sizes[name]}"
    return None


def check_result(record, sizes: dict[str, int], epochs: int, track_epochs: bool) -> str | None:
    """Why `record` is not a TrainResult of a training scored on sets of `sizes` pairs, or None."""
    if not isinstance(record, dict) or set(record) != RESULT_KEYS:
        return f"not a training result: {str(record)[:60]!r}"
    digits = {name: 2 * n for name, n in sizes.items()}  # two digits per pair
    why = _accuracies(record["acc"], sizes, True) or _accuracies(record["digit_acc"], digits, False)
    if why:
        return why
    if not checks.boolean(record["diverged"]):
        return f"diverged = {str(record['diverged'])[:20]} is not true or false"
    run = record["epochs_run"]
    if not checks.integer(0, epochs)(run):
        return f"epochs_run = {str(run)[:20]} is not in 0..{epochs}"
    history = record["history"]
    if not isinstance(history, list) or len(history) != (run + 1 if track_epochs else 0):
        return f"history {str(history)[:40]!r} does not match epochs_run = {run}"
    for epoch, row in enumerate(history):
        if not isinstance(row, dict) or row.get("epoch") != epoch:
            return f"history row {epoch} is {str(row)[:40]!r}"
        why = _accuracies({k: v for k, v in row.items() if k != "epoch"},
                          {f"{name}_acc": n for name, n in sizes.items()}, True)
        if why:
            return f"history row {epoch}: {why}"
    return None


def read(path: Path, key: str, sizes: dict[str, int], epochs: int, track_epochs: bool,
         host_kind: str) -> dict | None:
    """The cached result at `path`, computed on `host_kind`, or None when absent or not valid
    (with a warning)."""
    try:
        entry = read_json(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:  # a FIFO or a link to /dev/zero too: refused unread
        why = unreadable(err, f"not JSON ({str(err)[:60]})")
    else:
        if not isinstance(entry, dict) or set(entry) != {"key", "host", "result"}:
            why = f"not a cache entry: {str(entry)[:60]!r}"
        elif entry["key"] != key:
            why = f"its key {str(entry['key'])[:20]!r} is not its name"
        elif entry["host"] != host_kind:
            why = f"computed on host kind {str(entry['host'])[:60]!r}, not this one ({host_kind})"
        else:
            why = check_result(entry["result"], sizes, epochs, track_epochs)
            if why is None:
                return entry["result"]
    warn(f"{path}: damaged cache entry ({why}); training it again")
    return None


def write(path: Path, key: str, host_kind: str, result: dict) -> None:
    if path.is_dir():  # a directory in an entry's place: replaced by the good entry
        path.rename(path.with_name(f".{path.name}.{os.getpid()}.damaged"))
    write_json(path, {"key": key, "host": host_kind, "result": result})


def verify_count() -> int:
    """k of `DIGITCMP_VERIFY=k` (0: no verification)."""
    value = os.environ.get("DIGITCMP_VERIFY", "").strip() or "0"
    if not (value.isascii() and value.isdigit()):  # '²' is a digit to isdigit, not to int
        raise UserError(f"DIGITCMP_VERIFY: {value!r} is not allowed; allowed: a whole number of trainings (0: off)")
    return int(value)


def _leaves(obj, prefix: str = "") -> dict[str, object]:
    if isinstance(obj, dict):
        return {k: v for key in sorted(obj) for k, v in _leaves(obj[key], f"{prefix}{key}.").items()}
    if isinstance(obj, list):
        return {k: v for i, item in enumerate(obj) for k, v in _leaves(item, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): obj}


def compare(path: Path, cached: dict, recomputed: dict) -> None:
    """Stop unless a recomputed training is bit-for-bit its cache entry."""
    if dumps_json(cached) == dumps_json(recomputed):
        return
    old, new = _leaves(cached), _leaves(recomputed)
    where = next((k for k in sorted(old.keys() | new.keys()) if dumps_json(old.get(k)) != dumps_json(new.get(k))))
    raise UserError(f"{path}: cached {where} = {old.get(where)} differs from a recomputation ({new.get(where)}); "
                    f"the entry was edited, or training is not deterministic here: delete it, or rerun with "
                    f"DIGITCMP_CACHE=off")
