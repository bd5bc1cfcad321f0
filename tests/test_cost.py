"""What the best models cost: `bench.train_time` times the winners, the report prints the
seconds beside accuracy and parameters (or says how to measure them)."""

import json
import math
import os
import sys

import pandas as pd

from digitcmp_report.cost import TIME_COMMAND, cost_markdown
from tests.dvcproject import ROOT, dvc, env, run

FRAME = pd.DataFrame({"mean": [0.90, 0.95], "std": [0.01, 0.02], "parameters": [1000, 20000]}, index=["a", "b"])
TIMING = {"command": TIME_COMMAND, "cpu": "Some CPU", "threads": 1, "torch": "2.x", "repeat": 3,
          "seconds": {"a": 1.25, "b": 10.0, "gone": 3.0}}


def test_rows_follow_accuracy_with_parameters_and_seconds_and_the_host_is_named():
    text = cost_markdown(FRAME, TIMING)
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2:3] in "ab"]
    assert rows == ["| b | 0.9500 ± 0.0200 | 20,000 | 10.0 |", "| a | 0.9000 ± 0.0100 | 1,000 | 1.2 |"]
    assert "Some CPU" in text and "median of 3" in text
    assert "gone" not in text  # timed, but not an architecture of this report


def test_without_timing_the_section_gives_the_command():
    for timing in (None, {**TIMING, "seconds": {"gone": 1.0}}):
        text = cost_markdown(FRAME, timing)
        assert "Not measured here" in text and f"`{TIME_COMMAND}`" in text and "| a |" not in text


def test_train_time_times_the_winners_and_the_report_prints_them(repo):
    proc_env = {**env(repo), "PYTHONPATH": f"{repo}{os.pathsep}{ROOT}"}  # bench/ from the checkout
    run(repo, sys.executable, "-m", "bench.train_time", "probcmp_conv", "mlp_sharing_aux", "--repeat", "1",
        env=proc_env)
    timing = json.loads((repo / "experiments/train_time.json").read_text())
    assert set(timing["seconds"]) == {"probcmp_conv", "mlp_sharing_aux"}
    # What is recorded, not how long it took (that depends on the machine and its load).
    assert all(isinstance(s, (int, float)) and math.isfinite(s) and s >= 0 for s in timing["seconds"].values())
    bad = run(repo, sys.executable, "-m", "bench.train_time", "conv3", check=False, env=proc_env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("error: conv3: not an architecture")
    dvc(repo, "repro", "report")
    text = (repo / "results.md").read_text()
    section = text[text.index("## What the best models cost"):]
    assert "| probcmp_conv |" in section and "| MLP_sharing_aux |" in section
