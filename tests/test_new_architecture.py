"""Adding an architecture: one module in digitcmp/training/extras/ and its grid under `extras:` in
params.yaml, and the real pipeline trains it and reports it (nothing else to edit)."""

import json

from tests.dvcproject import TINY, dvc, ran_stages, write_params

# A new architecture, as a user would add it: a shared MLP branch and a main head, no digit
# heads (so λ does not apply and its grid has no lambda axis).
MODULE = '''"""`tiny_pairs`: one shared hidden layer per digit, a linear head on both."""

from torch import nn

from digitcmp.training.extras import positive_int
from digitcmp.training.models import Entry, Output


class TinyPairs(nn.Module):
    sharing, aux = True, False

    def __init__(self, hidden: int, layers: int):
        super().__init__()
        widths = [196] + [hidden] * layers
        self.branch = nn.Sequential(nn.Flatten(), *[m for a, b in zip(widths, widths[1:])
                                                     for m in (nn.Linear(a, b), nn.ReLU())])
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, x):
        n = x.shape[0]
        return Output(self.head(self.branch(x.reshape(2 * n, 1, 14, 14)).view(n, -1)), None, None)


REGISTER = {"tiny_pairs": Entry(TinyPairs, family="tiny", options={"layers": positive_int(1)})}
'''


def test_a_new_architecture_runs_through_the_pipeline(repo):
    (repo / "digitcmp/training/extras/tiny_pairs.py").write_text(MODULE)
    write_params(repo, {**TINY, "extras": {**TINY["extras"], "tiny_pairs": {"lr": 1.0e-3, "hidden": [4, 8],
                                                                             "layers": [1, 2]}}})
    assert "extra@tiny_pairs" in json.loads(dvc(repo, "status", "--json").stdout)
    # digitcmp/training changed, so the training stages rerun, but their trainings come from the cache:
    # a training's cache key counts the shared code and its own architecture's module only
    cached = set((repo / ".cache/trainings").iterdir())
    assert ran_stages(dvc(repo, "repro", "--single-item", "study@shallow_sharing_aux").stdout) == {
        "study@shallow_sharing_aux"}
    assert set((repo / ".cache/trainings").iterdir()) == cached
    assert ran_stages(dvc(repo, "repro", "--single-item", "extra@tiny_pairs").stdout) == {"extra@tiny_pairs"}
    search = json.loads((repo / "metrics/extras/search/tiny_pairs.json").read_text())
    runs = json.loads((repo / "metrics/extras/runs/tiny_pairs.json").read_text())
    assert sorted((p["hidden"], p["layers"], p["lambda"]) for p in search["grid"]) == [
        (4, 1, None), (4, 2, None), (8, 1, None), (8, 2, None)]
    assert len(runs["test_acc"]) == TINY["train"]["repeats"] and "digit_acc" not in runs
    assert runs["layers"] == search["best"]["layers"]
    assert not (repo / "metrics/runs/tiny_pairs.json").exists()  # not the study's: curve never reads it

    assert ran_stages(dvc(repo, "repro", "--single-item", "report").stdout) == {"report"}
    results = (repo / "results.md").read_text()
    extras_table = results.split("Beyond the study (not in its Table 2):", 1)[1].split("\n\n")[1]
    assert "| tiny_pairs |" in extras_table
    assert json.loads((repo / "metrics/summary.json").read_text())["tiny_pairs"]["mean"] == runs["mean"]
