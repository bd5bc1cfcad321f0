"""Where a ConvNet's training step goes on this CPU: its convolutions, and the part of a
step that does not shrink with the batch.

1. Each convolution of the study's ConvNets (conv1; conv2, Table 3) alone, at the study's
   batch (100 pairs: 200 digits through a shared branch), channels-last, in the precision
   the engine picks (`train.precision: auto`): forward, gradient of the input (not needed
   by the first layer, whose input is the data) and gradient of the weights and bias, in
   ms and GFLOP/s, through the aten kernels autograd calls (oneDNN's on x86).
2. A training step of each ConvNet architecture, from whole trainings (`digitcmp.training.train`,
   the fast path, one thread, as in an engine worker): the time of E + 1 epochs minus
   that of 1 epoch, over the E epochs' steps, so the start and the final scoring cancel.
   At batch 100, and at batch 1, which does almost no arithmetic: its step time is the
   cost per step that no faster kernel removes (Python, autograd, one call per op).
3. One core's fp32 and bf16 peak (a large matrix product) to read both against.

    .venv/bin/python -m bench.layers    # ~40 s
"""

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn

from bench.bench import peak_gflops
from bench.flops import forward_flops, layer_shapes
from digitcmp.training.fast import fast_layout
from digitcmp.training.models import ARCHITECTURES, FAMILIES
from digitcmp.training.precision import PRECISIONS, resolve_precision
from digitcmp.training.registry import build, facts
from digitcmp.training.train import TrainSpec, train

CONV_FAMILIES = tuple(f for f in FAMILIES if facts(f"{f}_sharing_noaux").convolutional)

PAIRS = 100  # the study's batch
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def best_ms(f: Callable[[], object], seconds: float) -> float:
    """Fastest mean time of one call of `f` over rounds of 5 calls, within `seconds`."""
    f()
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds or best == float("inf"):
        t = time.perf_counter()
        for _ in range(5):
            f()
        best = min(best, (time.perf_counter() - t) / 5 * 1e3)
    return best


def conv_shapes(family: str) -> list[tuple[nn.Conv2d, torch.Size, torch.Size]]:
    """(layer, input shape, output shape) of each convolution of `family`'s shared branch."""
    model = fast_layout(build(f"{family}_sharing_noaux", 100))
    return [s for s in layer_shapes(model, torch.zeros(PAIRS, 2, 14, 14)) if isinstance(s[0], nn.Conv2d)]


def conv_times(layer: nn.Conv2d, shape_in: torch.Size, shape_out: torch.Size, dtype: torch.dtype,
               first: bool, seconds: float) -> list[float | None]:
    """ms of forward, gradient of the input (None for the first layer), gradient of weights and bias."""
    cl = torch.channels_last
    x = torch.randn(shape_in, dtype=dtype).contiguous(memory_format=cl)
    grad = torch.randn(shape_out, dtype=dtype).contiguous(memory_format=cl)
    w, b = layer.weight.detach().to(dtype), layer.bias.detach().to(dtype)
    conf = (layer.stride, layer.padding, layer.dilation, False, [0, 0], layer.groups)

    def backward(mask: list[bool]) -> Callable[[], object]:
        return lambda: torch.ops.aten.convolution_backward(grad, x, w, [b.numel()], *conf, mask)

    times = [best_ms(lambda: torch.ops.aten.convolution(x, w, b, *conf), seconds)]
    times.append(None if first else best_ms(backward([True, False, False]), seconds))
    times.append(best_ms(backward([False, True, True]), seconds))
    return times


def step_ms(arch: str, batch: int, epochs: int, precision: str) -> float:
    """One training step of `arch` at `batch`: (E + 1 epochs − 1 epoch) / (E epochs' steps)."""
    steps_per_epoch = 10
    n = batch * steps_per_epoch
    g = torch.Generator().manual_seed(0)
    pairs = (torch.rand(n, 2, 14, 14, generator=g), torch.randint(0, 2, (n,), generator=g),
             torch.randint(0, 10, (n, 2), generator=g))

    def seconds(e: int) -> float:
        spec = TrainSpec(arch, 100, 1e-3, 0.5, e, batch, seed=0, precision=precision)
        t = time.perf_counter()
        train(spec, pairs)
        return time.perf_counter() - t

    seconds(1)  # first calls (kernel generation) out of the way
    short = min(seconds(1) for _ in range(2))
    long = min(seconds(1 + epochs) for _ in range(2))
    return (long - short) / (epochs * steps_per_epoch) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="as train.precision (auto: bf16 for ConvNets where this CPU has native bf16)")
    parser.add_argument("--smoke", action="store_true", help="one architecture, short timings")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as an engine worker
    seconds = 0.05 if args.smoke else 0.3
    archs = ["conv1_sharing_aux"] if args.smoke else [a for a in ARCHITECTURES if facts(a).convolutional]
    precision = resolve_precision(args.precision, archs[0])
    dtype = DTYPES[precision]

    peaks = {name: peak_gflops(0.1 if args.smoke else 1.0, d) for name, d in DTYPES.items()}
    print("peak, one thread (1024x1024 matrix product): "
          + ", ".join(f"{name} {gf:.0f} GFLOP/s" for name, gf in peaks.items()))
    print(f"convolutions alone, {2 * PAIRS} digits, channels-last, {precision}: ms (GFLOP/s)")
    print(f"  {'layer':34s} {'forward':>14s} {'grad input':>14s} {'grad weight':>14s}")
    for family in CONV_FAMILIES:
        for i, (layer, shape_in, shape_out) in enumerate(conv_shapes(family)):
            kh, kw = layer.kernel_size
            flops = 2 * layer.in_channels * kh * kw * shape_out.numel()
            cells = [" " * 9 + "-" * 5 if ms is None else f"{ms:6.2f} ({flops / ms / 1e6:4.0f})"
                     for ms in conv_times(layer, shape_in, shape_out, dtype, i == 0, seconds)]
            name = (f"{family} #{i + 1} {layer.in_channels}->{layer.out_channels}, {kh}x{kw} "
                    f"on {shape_in[2]}x{shape_in[3]}")
            print(f"  {name:34s} " + " ".join(f"{c:>14s}" for c in cells))

    print(f"training step, one thread, fast path, {precision}: ms at batch {PAIRS} | ms at batch 1 "
          f"(share of the batch-{PAIRS} step) | GFLOP/s at batch {PAIRS} (share of the {precision} peak)")
    for arch in archs:
        full = step_ms(arch, PAIRS, 1 if args.smoke else 4, precision)
        fixed = step_ms(arch, 1, 2 if args.smoke else 10, precision)
        gflops = 3 * PAIRS * forward_flops(arch, 100) / full / 1e6
        print(f"  {arch:24s} {full:6.2f} | {fixed:5.2f} ({fixed / full:4.0%}) | "
              f"{gflops:5.1f} ({gflops / peaks[precision]:4.0%})")


if __name__ == "__main__":
    main()
