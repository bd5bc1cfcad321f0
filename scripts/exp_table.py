"""Experiments side by side in a terminal: one column per experiment, one row per param
that differs between them and per architecture's mean test accuracy.

`dvc exp show` puts every param and metric in a column of its own: with {n_archs}
architectures (a mean and a std each) that is far wider than a terminal. This turns its
table on its side, so that its width grows with the number of experiments, not of
architectures, and splits the experiments into blocks that each fit the width. `*`
marks each column's best architecture (the declared metric `best`). Nothing is cut: a
value or name wider than its cell wraps onto the next line (lists after a comma).

    .venv/bin/python -m scripts.exp_table [--width 120] [--only-changed] [DVC EXP SHOW ARGS ...]

DVC's own arguments pass through: `-A` (every branch), `--rev REV`, `-n N`. Rows: the
params whose values differ between the columns shown, then each architecture's mean
(`--only-changed`: only the means that differ, and the best). Empty: not measured there.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from digitcmp.errors import UserError
from digitcmp.training.registry import NAMES
from digitcmp.stage import run_stage
from digitcmp_report.build import ACCURACY_DIR

__doc__ = __doc__.replace("{n_archs}", str(len(NAMES)))

LABEL = 24  # architecture names are up to 23 characters
CELL = 13   # a space, then up to 12 characters a line


def flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in (tree or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def columns(exps: list) -> list[tuple[str, dict, dict]]:
    """(name, params, metrics) of the workspace, each baseline and its experiments."""
    def one(name: str, entry: dict) -> tuple[str, dict, dict]:
        data = entry.get("data") or {}
        params = {k: v for f in (data.get("params") or {}).values() for k, v in flatten(f.get("data")).items()}
        metrics = {}
        for path, f in (data.get("metrics") or {}).items():  # metrics/accuracy/<arch>.json → <arch>.mean
            arch = path.removeprefix(f"{ACCURACY_DIR}/").removesuffix(".json") if path.startswith(ACCURACY_DIR) else ""
            metrics.update(flatten(f.get("data"), f"{arch}." if arch else ""))
        return name, params, metrics

    cols = []
    for base in exps:
        data = base.get("data") or {}
        rev = base.get("rev") or data.get("rev") or "?"
        cols.append(one(base.get("name") or (rev if rev == "workspace" else rev[:7]), base))
        for group in base.get("experiments") or []:
            for exp in group.get("revs") or []:
                cols.append(one(exp.get("name") or exp.get("rev", "?")[:7], exp))
    return cols


def fmt(value, mean: bool = False) -> str:
    """A cell's text: a mean to 4 decimals, any other number as Python's shortest form that
    keeps its magnitude (1e-05, not 0.0000), a list in full."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if mean else f"{value:g}"
    if isinstance(value, list):
        return "[" + ",".join(fmt(v) for v in value) + "]"
    return str(value)


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken after commas where it can."""
    lines, line = [], ""
    for token in text.replace(",", ",\0").split("\0"):
        while len(token) > width:  # a piece with no comma to break at
            if line:
                lines.append(line)
                line = ""
            lines.append(token[:width])
            token = token[width:]
        if len(line) + len(token) > width:
            lines.append(line)
            line = ""
        line += token
    return [*lines, line] if line or not lines else lines


def rows(cols: list, only_changed: bool) -> list[tuple[str, list[str]]]:
    """Params that differ, then each architecture's mean; `*` marks each column's best."""
    def differs(values: list[str]) -> bool:
        return len(set(values)) > 1

    out = []
    for key in sorted({k for _, params, _ in cols for k in params}):
        values = [fmt(params.get(key)) for _, params, _ in cols]
        if differs(values):
            out.append((key, [v + " " for v in values]))  # the space lines them up with the means' marks
    best = [metrics.get("best", metrics.get("best.arch")) for _, _, metrics in cols]
    archs = [k.removesuffix(".mean") for k in dict.fromkeys(k for _, _, metrics in cols for k in metrics)
             if k.endswith(".mean") and not k.startswith("best.")]
    order = {name: i for i, name in enumerate(NAMES)}  # Table 2's order, then the extras (DVC's is by file name)
    archs.sort(key=lambda a: order.get(a, len(order)))
    for arch in archs:
        values = [fmt(metrics.get(f"{arch}.mean"), mean=True) for _, _, metrics in cols]
        if not only_changed or differs(values) or arch in best:
            out.append((arch, [v + ("*" if b == arch else " ") for v, b in zip(values, best)]))
    return out


def render(cols: list, table: list, width: int) -> str:
    per_block = max(1, (width - LABEL) // CELL)
    blocks = []
    for start in range(0, len(cols), per_block):
        idx = range(start, min(start + per_block, len(cols)))
        lines = []
        for label, values in [("", [c[0] for c in cols]), *table]:
            label_lines = wrap(label, LABEL - 1)
            cells = [wrap(values[i], CELL - 1) for i in idx]
            for k in range(max(len(label_lines), *map(len, cells))):
                line = (label_lines[k] if k < len(label_lines) else "").ljust(LABEL)
                line += "".join((c[k] if k < len(c) else "").rjust(CELL) for c in cells)
                lines.append(line.rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.exp_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--only-changed", action="store_true")
    args, dvc_args = parser.parse_known_args(argv)
    if args.width < LABEL + CELL:
        raise UserError(f"--width: {args.width} is too narrow; allowed: {LABEL + CELL} or more")
    # The dvc beside this Python (the project's venv), whether or not the venv is activated.
    dvc = Path(sys.executable).parent / "dvc"
    dvc = str(dvc) if dvc.is_file() else shutil.which("dvc") or "dvc"
    done = subprocess.run([dvc, "exp", "show", "--json", *dvc_args], capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"dvc exp show: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    cols = columns(json.loads(done.stdout))
    print(render(cols, rows(cols, args.only_changed), args.width))


if __name__ == "__main__":
    run_stage(main)
