"""One training as the cache keys it: a spec and the draw it sees, and the sets that draw
gives it to fit and to be scored on."""

from dataclasses import dataclass

from digitcmp.training.pairs import Prepared
from digitcmp.training.train import TrainResult, TrainSpec, train


@dataclass(frozen=True)
class Task:
    """One training: a spec and the data it sees."""

    spec: TrainSpec
    draw: int  # 0: the grid search's draw; k ≥ 1: retraining k's
    val_fraction: float | None = None  # set: the draw's train pairs split fit/validation; None: train/test
    track_epochs: bool = False
    fit_pairs: int | None = None  # draws k ≥ 1: fit the first fit_pairs train pairs only (None: all N)

    def sets(self, prepared: Prepared):
        """(the pairs to fit, {name: the pairs it is scored on besides them})."""
        if self.val_fraction is not None:
            fit, val = prepared.search_sets(self.val_fraction, self.draw)
            return fit, {"val": val}
        fit, test = prepared.retrain_sets(self.draw)
        if self.fit_pairs is not None:
            fit = tuple(t[:self.fit_pairs] for t in fit)
        return fit, {"test": test}

    def set_sizes(self, prepared: Prepared) -> dict[str, int]:
        """The number of pairs of each set this training is scored on."""
        if self.val_fraction is not None:
            fit, val = prepared.search_sets(self.val_fraction, self.draw)
            return {"train": len(fit[0]), "val": len(val[0])}
        n = prepared.n_pairs
        return {"train": min(n, self.fit_pairs or n), "test": n}


def train_task(task: Task, prepared: Prepared, device: str) -> TrainResult:
    fit, scored = task.sets(prepared)
    result, _ = train(task.spec, fit, scored, task.track_epochs, device)
    return result
