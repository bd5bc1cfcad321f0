"""How an extra trains where it differs from the study: the learning rate's schedule and
label smoothing (TrainSpec's `schedule` and `label_smoothing`), with the options an
extra's grid may set for them. Apart from the training loop so that params validation can
read the options without importing it."""

import math

from digitcmp.training.checks import Rule, number, one_of

SCHEDULES = ("constant", "onecycle")
# The options of TrainSpec above that an extra's grid may set (`extras.<name>.<option>` in params.yaml);
# the study's sixteen keep the defaults.
OPTIONS = {
    "schedule": Rule(one_of(*SCHEDULES), ", ".join(SCHEDULES), default="constant"),
    "label_smoothing": Rule(number(0, 0.5), "a number from 0 to 0.5", default=0.0),
}
_WARMUP, _START, _END = 0.25, 25.0, 25e4  # one-cycle: share of rising steps, lr / start and lr / end lr


def learning_rate(spec, step: int, steps: int) -> float:
    """The learning rate of step `step` (0-based) of `steps`."""
    if spec.schedule == "constant":
        return spec.lr
    rise = max(1, round(_WARMUP * steps))
    low, high, end = spec.lr / _START, spec.lr, spec.lr / _END
    if step < rise:
        return low + (high - low) * (1 - math.cos(math.pi * step / rise)) / 2
    fall = max(1, steps - 1 - rise)
    return end + (high - end) * (1 + math.cos(math.pi * min(1.0, (step - rise) / fall))) / 2
