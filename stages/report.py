"""Stage `report`: per-architecture mean and std → metrics/summary.json (minimal; the
full report with Table 2, t-tests and figures lands with issue 4).
"""

from digitcmp.cli import run_stage
from digitcmp.io import read_json, write_json
from digitcmp.models import ARCHITECTURES
from digitcmp.search import best_architecture


def main(argv: list[str]) -> None:
    runs = {arch: read_json(f"metrics/runs/{arch}.json") for arch in ARCHITECTURES}
    summary = {arch: {"mean": r["mean"], "std": r["std"]} for arch, r in runs.items()}
    best = best_architecture(runs)
    summary["best"] = {"arch": best, "mean": runs[best]["mean"], "std": runs[best]["std"]}
    write_json("metrics/summary.json", summary)


if __name__ == "__main__":
    run_stage(main)
