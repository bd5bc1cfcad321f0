"""Per-core speed-ups of one training on CPU (bench/bench.py measures them).

All keep fp32 and bit-determinism (same spec and data → identical weights):
- `tune_allocator`: keep freed memory in the process. glibc's malloc returns the
  multi-MB activation buffers of the conv models to the OS after each step and
  page-faults them back in on the next.
- `fast_layout`: convs in channels-last (oneDNN's native layout; max-pooling an NCHW
  tensor takes a much slower kernel), and max-pooling
  before ReLU (ReLU is monotone, so the values and gradients are exactly the same,
  on 4× fewer elements). Channels-last convs round differently from NCHW ones: the
  fast path is fp32-close to the plain one, not bitwise.
- `FusedAdam`: torch.optim.Adam(fused=True)'s update, bit for bit, in one kernel call
  per step instead of six per parameter; and without torch.optim's import of
  torch._dynamo, which each fresh worker process would pay for.
"""

import ctypes
import ctypes.util
from collections.abc import Iterable

import torch
from torch import nn

_allocator_tuned = False


def tune_allocator() -> None:
    """Stop glibc from unmapping and trimming freed memory (once per process; no-op elsewhere)."""
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    mallopt(M_MMAP_THRESHOLD, 1 << 30)  # serve big blocks from the heap, reusable
    mallopt(M_TRIM_THRESHOLD, 1 << 30)  # never give the heap's top back to the OS
    mallopt(M_TOP_PAD, 64 << 20)  # and grow it in large steps


def fast_layout(model: nn.Module) -> nn.Module:
    """`model`, rearranged in place for speed; same parameters and state_dict keys.

    Any model: every ReLU directly followed by a MaxPool2d inside an nn.Sequential is
    swapped with it (only ReLU: its max-commutation is exact in floating point).
    """
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if type(seq[i]) is nn.ReLU and isinstance(seq[i + 1], nn.MaxPool2d):
                seq[i], seq[i + 1] = seq[i + 1], seq[i]
    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model.to(memory_format=torch.channels_last)
    return model


class FusedAdam:
    """Adam (betas 0.9, 0.999, eps 1e-8, no weight decay) as torch.optim.Adam(fused=True) computes it."""

    def __init__(self, params: Iterable[nn.Parameter], lr: float):
        self.params = list(params)
        self.lr = lr
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        pick = lambda xs: [xs[i] for i in live]  # noqa: E731
        steps = pick(self.steps)
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            pick(self.params), [self.params[i].grad for i in live], pick(self.exp_avgs),
            pick(self.exp_avg_sqs), [], steps, lr=self.lr, beta1=0.9, beta2=0.999,
            weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False,
        )


def set_lr(optimizer, lr: float) -> None:
    """The learning rate of the next steps, for FusedAdam and torch.optim's optimizers alike."""
    if isinstance(optimizer, FusedAdam):
        optimizer.lr = lr
    else:
        for group in optimizer.param_groups:
            group["lr"] = lr
