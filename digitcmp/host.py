"""The host kind: what, besides the code and the data, decides a training's last bits.

A CPU training is bit-deterministic on one host kind with one software stack, but not across
kinds: MKL and oneDNN pick kernels by CPU vendor and instruction set, and another kernel sums
in another order. So the training cache keys on the host kind (an entry computed on another
kind is never served here), each training record names the kind that computed it, and
`DIGITCMP_VERIFY` compares like with like.

The kind: CPU vendor and model name, the instruction-set flags that kernel dispatch reads,
ATen's chosen CPU capability, torch's version and its BLAS and oneDNN builds. Not the core
count, clock or memory: they change speed, not bits (one intra-op thread per training);
the memory is here too, as the bound readers and bounds check sizes against.
"""

import functools
import hashlib
import json
import os
import platform
import re
from pathlib import Path

import torch

# Flags that MKL, oneDNN and ATen dispatch on (x86); any other flag does not select a kernel.
KERNEL_FLAGS = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile")


def _cpuinfo(text: str) -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo's text."""
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _build_line(config: str, pattern: str) -> str:
    found = re.search(pattern, config)
    return found.group(1).strip() if found else "none"


@functools.cache
def describe() -> dict[str, object]:
    """This host's kind, as a dict of plain values (every field decides bits)."""
    try:
        info = _cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        info = {}
    flags = set(info.get("flags", "").split())
    config = torch.__config__.show()
    return {
        "cpu_vendor": info.get("vendor_id", platform.processor() or "unknown"),
        "cpu_model": info.get("model name", platform.machine()),
        "cpu_family": info.get("cpu family", ""),
        "kernel_flags": [f for f in KERNEL_FLAGS if f in flags],
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "blas": _build_line(config, r"Math Kernel Library Version ([\w.]+)") if "Math Kernel" in config
        else _build_line(config, r"BLAS_INFO=(\w+)"),
        "onednn": _build_line(config, r"MKL-DNN (v[\d.]+)"),
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available()),
    }


def kind_id(description: dict | None = None) -> str:
    """A short, stable id of a host kind: a readable slug and a hash of every field."""
    d = describe() if description is None else description
    digest = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]
    words = re.sub(r"[^a-z0-9]+", "-", str(d['cpu_model']).lower()).strip("-")
    return f"{words[:40].rstrip('-')}-{d['aten_capability']}-{digest}".lower()


def machine_bytes() -> int:
    """This machine's physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
