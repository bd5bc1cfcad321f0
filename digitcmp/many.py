"""Several trainings of one architecture at once: `train_many`.

A narrow shallow or MLP training spends a good part of each step on per-step overhead
(Python, autograd, optimizer) rather than arithmetic. Stacking K such models
(torch.func: stacked parameters, `vmap` over the model) pays that overhead once for K.
Measured on one core (groups of 12 and 30, CPU time; `bench/bench.py --stacking`):
1.2–1.5× faster at hidden ≤ 100, no faster (0.9–1.0×) at 200 and 300, where the
matrix products dominate; conv models are arithmetic-bound and not stacked. So only shallow and MLP
specs with hidden ≤ `STACK_MAX_HIDDEN` are stacked; the rest go through `train`.

Each stacked training is the same as `train(spec, ...)`: same initial weights, same
batch order, same loss, Adam with its own learning rate, same divergence rule (a
model whose batch loss is not finite stops, keeping its last finite weights). The
arithmetic is batched, so results are fp32-close to `train`'s, not bitwise equal.
They are bit-repeatable, and on one thread were observed bitwise independent of the
other members of the group (tested); as MKL does not promise that, call `train_many`
on groups fixed by the study's parameters (e.g. one architecture's grid at one
width), not on groups that depend on scheduling or on the number of workers. CPU only.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from digitcmp.fast import tune_allocator
from digitcmp.models import ARCHITECTURES, has_aux, parse
from digitcmp.seeds import derive_seed
from digitcmp.train import PairSet, TrainResult, TrainSpec, evaluate, init_model, normalise, train

STACKED_FAMILIES = ("shallow", "mlp")
STACK_MAX_HIDDEN = 100  # measured crossover, see above

EvalSets = dict[str, PairSet]


def train_many(specs: Sequence[TrainSpec], train_sets: PairSet | Sequence[PairSet],
               eval_sets: EvalSets | Sequence[EvalSets] | None = None, *,
               score_train: bool = True) -> list[tuple[TrainResult, torch.nn.Module]]:
    """(result, trained model) per spec, in order, as `train(spec, train_set, eval_set)` gives.

    `train_sets` and `eval_sets` are either one value shared by all specs or a sequence
    with one value per spec. Shallow and MLP specs that share architecture, width,
    epochs, batch size and train-set size, with hidden ≤ STACK_MAX_HIDDEN, are trained
    stacked; the rest one by one.
    """
    n = len(specs)
    if train_sets and isinstance(train_sets[0], torch.Tensor):
        train_sets = [train_sets] * n
    if eval_sets is None or isinstance(eval_sets, dict):
        eval_sets = [eval_sets or {}] * n
    if not len(train_sets) == len(eval_sets) == n:
        raise ValueError("train_sets and eval_sets need one entry per spec")

    results: list[tuple[TrainResult, torch.nn.Module] | None] = [None] * n
    groups: dict[tuple, list[int]] = {}
    for i, spec in enumerate(specs):
        if stackable(spec):
            key = (spec.arch, spec.hidden, spec.epochs, spec.batch_size, len(train_sets[i][0]))
            groups.setdefault(key, []).append(i)
        else:
            results[i] = train(spec, train_sets[i], eval_sets[i], score_train=score_train)
    for members in groups.values():
        group = _train_stacked([specs[i] for i in members], [train_sets[i] for i in members],
                               [eval_sets[i] for i in members], score_train)
        for i, result in zip(members, group):
            results[i] = result
    return results


def stackable(spec: TrainSpec) -> bool:
    """The study's narrow shallow and MLP models (not the extras of `digitcmp.extras`)."""
    return (spec.arch in ARCHITECTURES and parse(spec.arch)[0] in STACKED_FAMILIES
            and spec.hidden <= STACK_MAX_HIDDEN)


def _stacked_loss(out: tuple[torch.Tensor, ...], target: torch.Tensor, classes: torch.Tensor,
                  lam: torch.Tensor) -> torch.Tensor:
    """Per-model loss (K) of stacked outputs (K×B×…): `digitcmp.train.loss_fn` for each model."""
    k, b = target.shape
    ce = lambda logits, y: F.cross_entropy(  # noqa: E731
        logits.reshape(k * b, -1), y.reshape(k * b), reduction="none").view(k, b).mean(1)
    loss = ce(out[0], target)
    if len(out) == 3:  # aux models; a zero λ adds nothing, as in loss_fn
        aux = ce(out[1], classes[..., 0]) + ce(out[2], classes[..., 1])
        loss = loss + torch.where(lam > 0, lam * aux, torch.zeros_like(aux))
    return loss


class _StackedAdam:
    """torch.optim.Adam(fused=True) for each of K stacked models (parameters K×…), each
    with its own lr: one fused call per distinct lr, on the live (not diverged) models' slices."""

    def __init__(self, params: dict[str, torch.Tensor], lrs: list[float]):
        self.params = list(params.values())
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        self.lrs = lrs
        self.step_count = torch.zeros((), dtype=torch.float32)  # shared: every live model steps together

    @torch.no_grad()
    def step(self, live: list[int]) -> None:
        self.step_count += 1
        for lr in sorted({self.lrs[i] for i in live}):
            models = [i for i in live if self.lrs[i] == lr]
            views = lambda ts: [t[i] for i in models for t in ts]  # noqa: E731
            grads = [p.grad for p in self.params]
            torch._fused_adam_(
                views(self.params), views(grads), views(self.exp_avgs), views(self.exp_avg_sqs), [],
                [self.step_count] * (len(models) * len(self.params)), lr=lr, beta1=0.9, beta2=0.999,
                weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False,
            )


def _train_stacked(specs: list[TrainSpec], train_sets: list[PairSet], eval_sets: list[EvalSets],
                   score_train: bool) -> list[tuple[TrainResult, torch.nn.Module]]:
    tune_allocator()
    k, spec0 = len(specs), specs[0]
    sets = [normalise(tr, ev) for tr, ev in zip(train_sets, eval_sets)]
    n = len(sets[0][0][0])
    # All K train sets as one table; a batch is one index_select of rows k·N + i.
    x = torch.cat([tr[0] for tr, _ in sets])  # (K·N)×2×14×14
    target = torch.cat([tr[1] for tr, _ in sets])
    classes = torch.cat([tr[2] for tr, _ in sets])

    models = [init_model(spec) for spec in specs]
    params, buffers = stack_module_state(models)
    optimizer = _StackedAdam(params, [spec.lr for spec in specs])
    lam = torch.tensor([spec.lam if has_aux(spec.arch) else 0.0 for spec in specs], dtype=torch.float32)
    gens = [torch.Generator().manual_seed(derive_seed(spec.seed, "batches") % 2**63) for spec in specs]

    base = models[0]

    def forward(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], xb: torch.Tensor) -> tuple:
        return tuple(t for t in functional_call(base, (p, b), (xb,)) if t is not None)

    stacked = vmap(forward)
    offsets = torch.arange(k).unsqueeze(1) * n
    live = torch.ones(k, dtype=torch.bool)
    epochs_run = [spec0.epochs] * k
    for epoch in range(1, spec0.epochs + 1):
        orders = torch.stack([torch.randperm(n, generator=g) for g in gens])
        for start in range(0, n, spec0.batch_size):
            idx = (orders[:, start:start + spec0.batch_size] + offsets).flatten()
            b = len(idx) // k
            pick = lambda t: t.index_select(0, idx).view(k, b, *t.shape[1:])  # noqa: E731
            losses = _stacked_loss(stacked(params, buffers, pick(x)), pick(target), pick(classes), lam)
            bad = live & ~torch.isfinite(losses.detach())
            for i in bad.nonzero().flatten().tolist():  # stops before this step, as in train
                epochs_run[i] = epoch - 1
            live &= ~bad
            if not live.any():
                break
            for p in params.values():
                p.grad = None
            torch.where(live, losses, torch.zeros_like(losses)).sum().backward()
            optimizer.step(live.nonzero().flatten().tolist())
        if not live.any():
            break

    results = []
    for i, (model, (tr, ev)) in enumerate(zip(models, sets)):
        with torch.no_grad():
            model.load_state_dict({name: p[i] for name, p in params.items()})
        acc, digit_acc = {}, {}
        for name, data in ({"train": tr, **ev} if score_train else ev).items():
            acc[name], d = evaluate(model, data)
            if d is not None:
                digit_acc[name] = d
        results.append((TrainResult(acc, digit_acc, bool(not live[i]), epochs_run[i]), model))
    return results
