"""What the best models cost: test accuracy, parameters and seconds per training, side by side.

The seconds come from `experiments/train_time.json`, written by `python -m bench.train_time`
on a named CPU: a measurement of one host, not a result of the pipeline, so the report
prints them with their host and command, and says how to measure them when the file is
missing.
"""

from collections.abc import Mapping

import pandas as pd

from digitcmp.training.checks import is_number

from digitcmp_report.labels import label

TIME_FILE = "experiments/train_time.json"
TIME_COMMAND = "python -m bench.train_time"
TIME_KEYS = {"seconds": dict, "cpu": str, "threads": int, "repeat": int, "torch": str, "command": str}


def cost_markdown(everything: pd.DataFrame, timing: Mapping | None) -> str:
    """The section "What the best models cost" for the architectures timed in `timing`
    (rows of `everything`: Table 2's frame with the extras; others are skipped)."""
    parts = ["## What the best models cost", ""]
    timed = {a: s for a, s in (timing or {}).get("seconds", {}).items()
             if a in everything.index and is_number(s)}
    if not timed:
        return "\n".join(parts + [f"Not measured here: no {TIME_FILE} for these architectures; "
                                  f"`{TIME_COMMAND}` writes it.", ""])
    rows = [f"| {label(a)} | {everything.loc[a, 'mean']:.4f} ± {everything.loc[a, 'std']:.4f} | "
            f"{int(everything.loc[a, 'parameters']):,} | {s:.1f} |"
            for a, s in sorted(timed.items(), key=lambda item: -everything.loc[item[0], "mean"])]
    parts += [
        f"Seconds per training: one retraining with the winner's hyperparameters ({timing['threads']} "
        f"thread, the stages' fast path, median of {timing['repeat']}, after a warm-up) on {timing['cpu']}, "
        f"torch {timing['torch']} (`{timing['command']}`). A stage runs one such training per core.",
        "",
        "| Architecture | Test accuracy | Parameters | Seconds per training |",
        "| :--- | ---: | ---: | ---: |",
        *rows,
        "",
    ]
    return "\n".join(parts)
