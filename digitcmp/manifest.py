"""The prepare stage's manifest and what it vouches for, checked before any training.

`data/prepared/manifest.json` maps each array file to its sha256, shape and dtype and
records the params the data was made from. A manifest can be well-formed JSON and still
wrong (edited, or from another run): its layout, then each array against it, then the
arrays against each other and the manifest's params are checked, and any fault names the
file and the command that repairs it.
"""

import math
from pathlib import Path

import numpy as np

from digitcmp.errors import UserError
from digitcmp.host import machine_bytes
from digitcmp.files import read_regular, unreadable
from digitcmp.training.checks import integer


def damaged(directory: Path, what: str) -> UserError:
    # `-f`: DVC skips a stage whose outputs' size and time it has seen, even if their bytes changed.
    return UserError(f"{directory}: {what}; rerun `dvc repro -f prepare`")


def check_manifest(directory: Path, manifest, names: tuple[str, ...]) -> dict:
    """The manifest's file entries, after checking its layout (a mapping of the arrays'
    sha256, shape and dtype, and the params it was made from)."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    meta = manifest.get("params") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not isinstance(meta, dict):
        raise damaged(directory, "manifest.json lacks its 'files' and 'params' mappings")
    for name in names:
        entry = files.get(name)
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list)):
            raise damaged(directory, f"manifest.json has no valid entry for {name}.npy")
    for key, ok in (("source", lambda v: isinstance(v, str)), ("n_pairs", integer(1)), ("repeats", integer(1)),
                    ("seed", integer(0))):
        if not ok(meta.get(key)):
            raise damaged(directory, f"manifest.json has params.{key} {meta.get(key)!r}")
    return files


def read_member(directory: Path, name: str, limit: int) -> bytes:
    """The bytes of `directory/name`, a regular file of at most `limit` bytes (no FIFO, no
    link to /dev/zero, nothing larger than memory is read), else one line naming it."""
    try:
        return read_regular(directory / name, limit)
    except FileNotFoundError:
        raise damaged(directory, f"{name} is missing")
    except (ValueError, OSError) as err:
        raise damaged(directory, f"{name} is unreadable ({unreadable(err, 'not a file')})")


NPY_HEADER = 2**16  # bytes: the most a .npy file's header takes (format 1.0; ours are ~128)


def npy_limit(directory: Path, name: str, entry: dict) -> int:
    """The most bytes `name`.npy can be by its manifest `entry`'s shape and dtype; an entry
    whose array would not fit in this machine's memory is refused before any read."""
    shape = entry["shape"]
    try:
        itemsize = np.dtype(entry["dtype"]).itemsize
    except TypeError:
        raise damaged(directory, f"manifest.json gives {name}.npy the dtype {entry['dtype'][:20]!r}")
    if not all(map(integer(0), shape)):
        raise damaged(directory, f"manifest.json gives {name}.npy the shape {str(shape)[:40]}")
    size = math.prod(shape) * itemsize
    if size > machine_bytes():
        raise damaged(directory, f"manifest.json gives {name}.npy {size:,} bytes, more than this machine's memory")
    return size + NPY_HEADER


def check_arrays(directory: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """The arrays agree with each other and with the manifest's params."""
    n, repeats = meta["n_pairs"], meta["repeats"]
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.float32 or images.shape[1:] != (14, 14) or labels.dtype != np.int64 \
                or labels.shape != images.shape[:1]:
            raise damaged(directory, f"{split}_images.npy {list(images.shape)} {images.dtype} and "
                                      f"{split}_labels.npy {list(labels.shape)} {labels.dtype} do not form a pool")
        if len(labels) and not 0 <= labels.min() <= labels.max() <= 9:
            raise damaged(directory, f"{split}_labels.npy has labels outside 0 to 9")
    draws = arrays["draws"]
    if draws.dtype != np.int64 or draws.shape != (repeats + 1, 2, 2 * n):
        raise damaged(directory, f"draws.npy is {list(draws.shape)} {draws.dtype}, but manifest.json's params "
                                  f"(n_pairs {n}, repeats {repeats}) need {[repeats + 1, 2, 2 * n]} int64")
    for side, split in enumerate(("train", "test")):
        idx = draws[:, side]
        if idx.min() < 0 or idx.max() >= len(arrays[f"{split}_labels"]):
            raise damaged(directory, f"draws.npy indexes outside the {split} pool")
