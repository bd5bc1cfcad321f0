"""The full MNIST's four IDX files under `<root>/MNIST/raw`, read and checked here.

Only the uncompressed IDX files are read (torchvision's layout, so an existing
torchvision download works), never torchvision's `processed/*.pt` caches: a leftover
cache must not stand in for the files DVC tracks as the `prepare` stage's dependency.
Every file is checked before its bytes are used (regular file, magic number, image
size, length, label range, image and label counts agree), and a damaged one is
named in one line.

The download (`data.download: true`) is torchvision's own `datasets.MNIST`: its mirrors,
its MD5 checks, its unpacking. Its files are then checked here like any others, so a
download cut short is named as truncated, not read.
"""

import math
import os
import stat
from pathlib import Path

import numpy as np

from digitcmp.errors import UserError
from digitcmp.host import machine_bytes

FILES = {  # split → (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NAMES = tuple(name for pair in FILES.values() for name in pair)
IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801  # unsigned bytes, 3 and 1 dimensions
SIDE = 28
BYTES_PER_VALUE = 6  # in memory per byte read: the byte, its float32 copy, a quarter of one pooled


def raw_dir(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def _bad(path: Path, what: str) -> UserError:
    return UserError(f"{path}: {what}; allowed: an uncompressed MNIST IDX file "
                     f"(replace it, or delete it and set data.download: true)")


def _read(path: Path, magic: int, dims: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """The payload (uint8) and dimensions of one IDX file, after checking its header and length."""
    try:
        info = os.stat(path)
    except OSError as err:
        raise _bad(path, f"cannot be read ({err.strerror})")
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read, a directory fail it
        raise _bad(path, "is not a regular file")
    header = 4 + 4 * dims
    if info.st_size < header:
        raise _bad(path, f"is {info.st_size} bytes, shorter than its {header}-byte header (empty or truncated)")
    with open(path, "rb") as f:
        head = f.read(header)
        found = int.from_bytes(head[:4], "big")
        if found != magic:
            raise _bad(path, f"has magic number {found:#010x}, expected {magic:#010x}")
        shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
        if dims == 3 and shape[1:] != (SIDE, SIDE):
            raise _bad(path, f"holds {shape[1]}x{shape[2]} images, expected {SIDE}x{SIDE}")
        expected = header + math.prod(shape)
        if info.st_size != expected:
            what = "truncated" if info.st_size < expected else "longer than its header says"
            raise _bad(path, f"is {info.st_size} bytes where its header ({shape[0]} items) says {expected}: {what}")
        need = BYTES_PER_VALUE * math.prod(shape)
        if need > machine_bytes():
            raise _bad(path, f"holds {shape[0]:,} items, about {need / 2**30:,.1f} GiB to read and pool; more than "
                             f"this machine's {machine_bytes() / 2**30:,.1f} GiB")
        return np.frombuffer(f.read(), dtype=np.uint8), shape


def read_split(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images K×28×28 uint8, labels K int64) of `split` ("train" or "test")."""
    images_name, labels_name = FILES[split]
    raw = raw_dir(root)
    pixels, shape = _read(raw / images_name, IMAGE_MAGIC, 3)
    labels, (count,) = _read(raw / labels_name, LABEL_MAGIC, 1)
    if shape[0] == 0:
        raise _bad(raw / images_name, "holds no images")
    if count != shape[0]:
        raise _bad(raw / labels_name, f"holds {count} labels but {images_name} holds {shape[0]} images")
    if count and labels.max() > 9:
        raise _bad(raw / labels_name, f"has label {int(labels.max())} at index {int(labels.argmax())}; "
                                      f"digits are 0 to 9")
    return pixels.reshape(shape), labels.astype(np.int64)


def missing(root: str | Path) -> list[str]:
    raw = raw_dir(root)
    return [name for name in NAMES if not os.path.lexists(raw / name)]


def download(root: str | Path) -> None:
    """Fetch the four files through torchvision into the raw directory (it fetches all four
    whenever one is missing), keeping only the uncompressed ones."""
    from torchvision.datasets import MNIST  # lazily: only a download needs it

    raw = raw_dir(root)
    try:
        MNIST(str(root), train=True, download=True)
    except RuntimeError as err:  # "Error downloading NAME.gz:" then "Tried MIRROR, got:" / the error, per mirror
        first, *rest = str(err).splitlines() or [""]
        name = first.removeprefix("Error downloading ").rstrip(":") or "MNIST"
        tried = "; ".join(f"{mirror.removeprefix('Tried ').removesuffix(', got:')}: {why[:80]}"
                          for mirror, why in zip(rest[::2], rest[1::2]))
        raise UserError(f"data.download: could not download {name} ({tried or str(err)[:120]}); allowed: "
                        f"put {', '.join(NAMES)} (uncompressed IDX) in {raw}/ by hand, or data.source: mnist5k") from None
    for archive in raw.glob("*.gz"):  # the prepare stage depends on this directory: only what it reads
        archive.unlink()
