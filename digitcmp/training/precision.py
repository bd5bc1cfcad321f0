"""Training precision: the `train.precision` param and what it turns into.

"fp32", or "bf16": the forward pass of training under torch.autocast, so convolutions
and matrix products run in bfloat16 while weights, optimizer state, loss and scoring
stay fp32 (mixed precision). "auto" picks bf16 only where it is faster: convolutional
architectures, on a CPU whose oneDNN multiplies bf16 in hardware (AVX512-BF16 or AMX);
shallow and MLP models get slower in bf16, and emulated bf16 is much slower (see the
bench docs).
"""

import contextlib
import functools
import re
from pathlib import Path

import torch

from digitcmp.training.registry import facts

PRECISIONS = ("auto", "fp32", "bf16")


@functools.cache
def native_bf16() -> bool:
    """oneDNN runs bf16 convolutions in hardware here. Where it would emulate them (plain
    AVX2 or AVX-512 without BF16) or cannot tell (not Linux), False."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    if not re.search(r"\b(avx512_bf16|amx_bf16)\b", flags):
        return False
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def resolve_precision(setting: str, arch: str, device: str = "cpu", native: bool | None = None) -> str:
    """The `train.precision` param for one architecture: "fp32" or "bf16" ("auto": bf16
    for convolutional architectures on a CPU with native bf16; `native` defaults to this
    machine's)."""
    if setting != "auto":
        return setting
    native = native_bf16() if native is None else native
    return "bf16" if device == "cpu" and native and facts(arch).convolutional else "fp32"


def autocast(precision: str, device: str) -> contextlib.AbstractContextManager:
    """The context a training's forward pass runs in: bf16 autocast, or nothing for fp32."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")
