"""Refuse, before any work, a plan this machine cannot hold or would not finish.

- Device: `cuda` and `cuda:N` must be devices torch sees here.
- Memory: a training holds every parameter four times (weights, gradients and Adam's
  two moments, fp32) and, per pair of a batch, its forward activations and their
  gradients. Both are exact polynomials in `hidden` (parameters at most quadratic,
  from hidden×hidden layers; activations linear), so they are counted on models of
  width 1, 2 and 3 and evaluated in Python integers at the planned width: nothing
  that large is built, and a width beyond int64 is priced like any other.
- Time: a stage's optimizer steps (trainings × epochs × batches an epoch). The study's
  stages take about 10^4 each; more than MAX_STEPS (10^4 times that) is refused.
- Data: the prepare stage's draws (`train.repeats` + 1 of them) must fit in memory.
"""

import functools
import math

import torch

from digitcmp.training import registry
from digitcmp.training.pairs import split_sizes
from digitcmp.data import POOL_SIZES
from digitcmp.engine import resolve_workers
from digitcmp.errors import UserError
from digitcmp.host import machine_bytes

MAX_STEPS = 10**8
EVAL_BATCH = 1000  # digitcmp.training.train.evaluate's batch


def check_device(device: str) -> None:
    """`device` (already of the form cpu, cuda or cuda:N) is one torch sees here."""
    if device == "cpu":
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise UserError(f"train.device: {device!r} is not available: torch {torch.__version__} sees no CUDA "
                        f"device here; allowed: cpu")
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        raise UserError(f"train.device: {device!r} is not available: torch sees {count} CUDA device(s); "
                        f"allowed: cpu, cuda, {', '.join(f'cuda:{i}' for i in range(count))}")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def _counts(arch: str, hidden: int, options: dict) -> tuple[int, int]:
    """(parameters and buffers, activation values for one pair) of `arch` at `hidden`."""
    activations = 0

    def count(module, inputs, output) -> None:
        nonlocal activations
        for t in output if isinstance(output, tuple) else (output,):
            activations += t.numel() if isinstance(t, torch.Tensor) else 0

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only contend
    try:
        with torch.random.fork_rng(devices=[]):
            model = registry.build(arch, hidden, **options).eval()
        leaves = [m for m in model.modules() if not list(m.children())]
        for m in leaves:
            m.register_forward_hook(count)
        with torch.no_grad():
            model(torch.zeros(1, 2, 14, 14))
    finally:
        torch.set_num_threads(threads)
    size = sum(t.numel() for t in (*model.parameters(), *model.buffers()))
    return size, activations


def _at(values: list[int], h: int) -> int:
    """The quadratic through (1, v0), (2, v1), (3, v2), at h (Python integers)."""
    d1, d2 = values[1] - values[0], values[2] - 2 * values[1] + values[0]
    return values[0] + (h - 1) * d1 + (h - 1) * (h - 2) // 2 * d2


@functools.cache
def _small(arch: str, options: tuple) -> list[tuple[int, int]]:
    return [_counts(arch, h, dict(options)) for h in (1, 2, 3)]


def training_bytes(arch: str, hidden: int, options: dict, batch: int, n_eval: int) -> int:
    """Bytes one training of `arch` needs at its peak (see the module's docstring)."""
    small = _small(arch, tuple(sorted(options.items())))
    size, acts = _at([s for s, _ in small], hidden), _at([a for _, a in small], hidden)
    return 4 * (4 * size + max(2 * acts * batch, acts * min(n_eval, EVAL_BATCH)))


def check_training(arch: str, points: list[dict], params: dict) -> None:
    """The grid `points` of `arch` (and the winner's retrainings) fit in memory and time."""
    train, n = params["train"], params["data"]["n_pairs"]
    n_fit = split_sizes(n, train["val_fraction"])[0]
    key = "hidden" if arch not in params["extras"] else f"extras.{arch}"
    at_once = max(1, min(resolve_workers(train["workers"]), len(points), train["repeats"]))
    have = machine_bytes()
    for point in points:
        options = {k: v for k, v in point.items() if k in registry.options(arch)}
        if 16 * point["hidden"] > have:  # its weights alone: no need to count further
            need = 16 * point["hidden"]
        else:
            batch = min(point.get("batch_size", train["batch_size"]), n)
            need = training_bytes(arch, point["hidden"], options, batch, n)
        if need * at_once > have:
            what = point["hidden"] if key == "hidden" else ", ".join(f"{k} {v}" for k, v in point.items())
            raise UserError(f"{key}: {what} needs about {_gib(need)} per {arch} training ({at_once} at once); "
                            f"allowed: a grid whose trainings fit in this machine's {_gib(have)}")
    steps = 0
    for point in points:  # an extra's grid may set its own batch size
        size = point.get("batch_size", train["batch_size"])
        steps += train["epochs"] * math.ceil(n_fit / min(size, n_fit))
    winner = min(point.get("batch_size", train["batch_size"]) for point in points)  # the most steps a winner takes
    steps += train["repeats"] * train["epochs"] * math.ceil(n / min(winner, n))
    check_steps(arch, steps, f"{len(points)} grid points and {train['repeats']} retrainings "
                              f"of {train['epochs']} epochs")


def check_steps(stage: str, steps: int, what: str) -> None:
    if steps > MAX_STEPS:
        raise UserError(f"{stage}: {what} make {steps:.1e} optimizer steps; allowed: at most {MAX_STEPS:.0e} "
                        f"a stage (lower train.epochs, train.repeats or the grid)")


def check_prepare(params: dict) -> None:
    """The prepare stage's draws fit in memory."""
    n, repeats = params["data"]["n_pairs"], params["train"]["repeats"]
    need = (repeats + 1) * 2 * 2 * n * 8 + sum(POOL_SIZES[params["data"]["source"]]) * 14 * 14 * 4
    if need > machine_bytes():
        raise UserError(f"train.repeats: {repeats} needs about {_gib(need)} for the prepared draws; "
                        f"allowed: data that fits in this machine's {_gib(machine_bytes())}")
