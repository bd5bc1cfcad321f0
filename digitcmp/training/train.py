"""Training and evaluation: an explicit loop, as in pytorch/examples/mnist.

Loss (the study's equation 1): cross_entropy(main) + λ·(cross_entropy(digit1) +
cross_entropy(digit2)); logits + cross-entropy is the study's softmax + cross-entropy,
computed stably. Adam, minibatches that are index slices of in-memory tensors.

Normalisation (`spec.standardise`, the `train.standardise` param): by default inputs
are standardised with the mean and std of the training input (one scalar each), the
course's usual choice; evaluation sets use the same numbers. Off, the network reads the
raw 0-255 pixels, as the study's text implies (it mentions no normalising).

Learning rate (`spec.schedule`): "constant" (the study's), or "onecycle": per step, a
cosine rise from lr/25 to `spec.lr` over the first 25% of the steps, then a cosine fall
to lr/25e4 (torch's OneCycleLR with its defaults, without its momentum cycling).
`spec.label_smoothing` smooths the targets of every cross-entropy term.

Augmentation (`spec.augment`, extras only): each training minibatch goes through
`digitcmp.training.augment` with a generator seeded from the spec; scored sets never do.

Determinism: initial weights come from torch's RNG seeded with `spec.seed` inside
`fork_rng` (global state is restored afterwards), batch order from a generator
seeded from the same seed; same spec and data → bit-identical weights.

Speed: by default (`fast=True`) a training uses `digitcmp.training.fast`: allocator tuning,
channels-last convs with max-pooling before ReLU, and fused Adam. Its results are
fp32-close to the plain loop's (`fast=False`, the study's loop as written), not
bitwise equal; each path on its own is bit-deterministic.

Precision (`spec.precision`): "fp32" or "bf16", see digitcmp.training.precision.

Divergence: if a batch's loss is NaN or infinite, training stops before that step,
the run is marked `diverged`, and the accuracy of the last finite weights is reported.
"""

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from digitcmp.training import augment
from digitcmp.errors import UserError
from digitcmp.training.fast import FusedAdam, fast_layout, set_lr, tune_allocator
from digitcmp.training.precision import autocast
from digitcmp.training.registry import build
from digitcmp.training.schedule import learning_rate
from digitcmp.training.seeds import derive_seed

PairSet = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # input, target, classes


@dataclass(frozen=True)
class TrainSpec:
    """Everything that, with the data, determines a training's result."""

    arch: str
    hidden: int
    lr: float
    lam: float
    epochs: int
    batch_size: int
    seed: int
    # Options of an extra architecture (digitcmp.training.registry.options), as sorted (key, value)
    # pairs so the spec stays hashable; the study's sixteen take none.
    options: tuple[tuple[str, object], ...] = ()
    precision: str = "fp32"  # "fp32" or "bf16" (digitcmp.training.precision)
    standardise: bool = True  # inputs standardised by the training set's mean and std
    # Augmentation of training minibatches (digitcmp.training.augment.OPTIONS), sorted (key, value)
    # pairs; empty: none (the study's sixteen).
    augment: tuple[tuple[str, object], ...] = ()
    schedule: str = "constant"  # of the learning rate, see digitcmp.training.schedule
    label_smoothing: float = 0.0


@dataclass
class TrainResult:
    acc: dict[str, float]  # comparison accuracy per evaluated set
    digit_acc: dict[str, float]  # digit accuracy per set (aux models; empty otherwise)
    diverged: bool
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch, if tracked


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: PairSet, batch_size: int = 1000) -> tuple[float, float | None]:
    """(comparison accuracy, digit accuracy or None) of `model` on a normalised set."""
    model.eval()
    x, target, classes = data
    correct = digits = 0
    for start in range(0, len(x), batch_size):
        out = model(x[start:start + batch_size])
        correct += (out.main.argmax(1) == target[start:start + batch_size]).sum().item()
        if out.digit1 is not None:
            c = classes[start:start + batch_size]
            digits += (out.digit1.argmax(1) == c[:, 0]).sum().item()
            digits += (out.digit2.argmax(1) == c[:, 1]).sum().item()
    model.train()
    n = len(x)
    return correct / n, (digits / (2 * n) if model.aux else None)


def loss_fn(out, target: torch.Tensor, classes: torch.Tensor, lam: float, smoothing: float = 0.0,
            main: bool = True) -> torch.Tensor:
    """In fp32 whatever the logits' dtype (bf16 logits under autocast). The aux terms
    exist where the model has digit heads (what `registry.uses_lambda` reads off it);
    the main term unless `main` is False (a model whose comparison has nothing to learn)."""
    ce = lambda logits, labels: F.cross_entropy(logits.float(), labels, label_smoothing=smoothing)  # noqa: E731
    loss = ce(out.main, target) if main else 0.0
    if out.digit1 is not None and lam:
        loss = loss + lam * (ce(out.digit1, classes[:, 0]) + ce(out.digit2, classes[:, 1]))
    return loss


def init_model(spec: TrainSpec) -> torch.nn.Module:
    """The model of `spec` with initial weights drawn from `spec.seed` alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(spec.seed, "init"))
        return build(spec.arch, spec.hidden, **dict(spec.options))


def normalise(train: PairSet, others: dict[str, PairSet]) -> tuple[PairSet, dict[str, PairSet], float]:
    """Both standardised by `train`'s mean and std, and where the raw background (0) lands."""
    mean, std = train[0].mean(), train[0].std()
    scale = lambda s: ((s[0] - mean) / std, s[1], s[2])  # noqa: E731
    return scale(train), {name: scale(s) for name, s in others.items()}, float(-mean / std)


def train(spec: TrainSpec, train_set: PairSet, eval_sets: dict[str, PairSet] | None = None,
          track_epochs: bool = False, device: str = "cpu", *, fast: bool = True
          ) -> tuple[TrainResult, torch.nn.Module]:
    """Train `spec` on `train_set`; score it on `train_set` ("train") and on each of `eval_sets`.

    With `track_epochs`, accuracies are also recorded before training and after every
    epoch (the study's Figure 2); otherwise only at the end. `fast=False` runs the
    plain loop (see the module's docstring).
    """
    eval_sets = eval_sets or {}
    background = 0.0
    if spec.standardise:
        train_set, eval_sets, background = normalise(train_set, eval_sets)
    move = lambda s: tuple(t.to(device) for t in s)  # noqa: E731
    train_set, eval_sets = move(train_set), {k: move(v) for k, v in eval_sets.items()}
    model = init_model(spec).to(device)
    if fast:
        tune_allocator()
        optimizer = FusedAdam(fast_layout(model).parameters(), lr=spec.lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    batches = torch.Generator().manual_seed(derive_seed(spec.seed, "batches"))
    augmenting = augment.active(dict(spec.augment))
    warps = torch.Generator().manual_seed(derive_seed(spec.seed, "augment"))
    x, target, classes = train_set
    n = len(x)
    steps, step = spec.epochs * math.ceil(n / spec.batch_size), 0
    main_loss = getattr(model, "main_loss", True)
    if not main_loss and not spec.lam:
        raise UserError(f"lambda: 0 leaves {spec.arch} nothing to learn (it trains on its digit terms alone); "
                        f"allowed: a number > 0")

    scored = {"train": train_set, **eval_sets}
    low_precision = autocast(spec.precision, device)

    def score(epoch: int) -> dict[str, float]:
        row = {"epoch": epoch}
        for name, data in scored.items():
            row[f"{name}_acc"] = evaluate(model, data)[0]
        return row

    history = [score(0)] if track_epochs else []
    diverged, epochs_run = False, 0
    for epoch in range(1, spec.epochs + 1):
        order = torch.randperm(n, generator=batches).to(device)
        for start in range(0, n, spec.batch_size):
            idx = order[start:start + spec.batch_size]
            xb, tb, cb = x[idx], target[idx], classes[idx]
            if augmenting:
                xb, tb, cb = augment.augment(xb, cb, warps, background, dict(spec.augment))
            with low_precision:
                out = model(xb)
            loss = loss_fn(out, tb, cb, spec.lam, spec.label_smoothing, main_loss)
            if not math.isfinite(loss.item()):
                diverged = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if spec.schedule != "constant":
                set_lr(optimizer, learning_rate(spec, step, steps))
            optimizer.step()
            step += 1
        if diverged:
            break
        epochs_run = epoch
        if track_epochs:
            history.append(score(epoch))

    acc, digit_acc = {}, {}
    for name, data in scored.items():
        acc[name], d = evaluate(model, data)
        if d is not None:
            digit_acc[name] = d
    return TrainResult(acc, digit_acc, diverged, epochs_run, history), model
