"""What every model of the study returns (digitcmp.models and digitcmp.extras alike)."""

from typing import NamedTuple

import torch


class Output(NamedTuple):
    main: torch.Tensor  # N×2 logits: class 1 means first digit ≤ second
    digit1: torch.Tensor | None  # N×10 logits of the first digit (aux models only)
    digit2: torch.Tensor | None
