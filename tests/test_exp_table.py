"""scripts/exp_table.py: experiments side by side within a terminal's width."""

import subprocess
import sys
from pathlib import Path

from digitcmp.training.models import ARCHITECTURES
from scripts import exp_table
from tests.dvcproject import TINY, dvc, env

ROOT = Path(__file__).resolve().parent.parent


def test_many_experiments_split_into_blocks_that_fit_the_width():
    cols = [(f"exp-{i:02d}-with-a-long-name", {"lambda": 0.25 * i, "lr": 0.001},
             {"best": "conv2_sharing_aux", "conv2_sharing_aux.mean": 0.8 + i / 100, "conv2_sharing_aux.std": 0.01,
              "mlp_sharing_aux.mean": 0.8})
            for i in range(12)]
    text = exp_table.render(cols, exp_table.rows(cols, only_changed=True), 120)
    assert max(map(len, text.splitlines())) <= 120
    blocks = text.split("\n\n")
    assert len(blocks) == 2 and all(b.splitlines()[1].startswith("lambda") for b in blocks)
    assert [line.split()[0] for line in blocks[0].splitlines()[1:]] == ["lambda", "conv2_sharing_aux"]
    assert blocks[0].splitlines()[2].split()[1] == "0.8000*"  # the best, marked; lr and mlp unchanged


def test_readme_command_on_the_tiny_profile_fits_120_columns(repo):
    dvc(repo, "exp", "run", "-S", "train.workers=1", "-n", "one-worker")  # changes speed only: no stage reruns
    e = {**env(repo), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "scripts.exp_table"], cwd=repo, env=e, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 120
    header = lines[0].split()
    assert len(header) == 3 and header[0] == "workspace" and header[2] == "one-worker"  # and the branch
    assert lines[1].split() == ["train.workers", "1", "2", "1"]
    names = [line.split()[0] for line in lines[2:]]
    assert names == list(ARCHITECTURES) + list(TINY["extras"])
    assert sum(line.count("*") for line in lines) == 3  # one best per column
