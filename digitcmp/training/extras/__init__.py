"""Architectures beyond the study's sixteen, one module each, and the parts they share.

Each module of this package registers its architectures with a module-level `REGISTER`
(name → `digitcmp.training.models.Entry`), which `digitcmp.training.registry` collects: adding an
architecture is one module here and its grid under `extras:` in params.yaml.

The extras here return `Output(main, digit1, digit2)` like `models.PairNet`, have digit
heads (`aux`), so `train.train` uses them unchanged with the loss main + λ·(aux₁ + aux₂),
and share one branch between the two digits (`SharedNet`). Their options are keyword
arguments of their builder, each a `digitcmp.training.checks.Rule` with its default.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from digitcmp.training.checks import Rule, boolean, integer, number, one_of
from digitcmp.training.models import Output

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}




def activation(default: str = "relu") -> Rule:
    return Rule(one_of(*ACTIVATIONS), ", ".join(ACTIVATIONS), default=default)


def dropout(default: float = 0.0) -> Rule:
    return Rule(number(0, 1, open_high=True), "a number in [0, 1)", default=default)


def positive_int(default: int, high: int = 1024) -> Rule:
    """An integer option with an upper bound, so that no value makes a model too large to
    even price (digitcmp.bounds counts models of width 1 to 3 at the option's value)."""
    return Rule(integer(1, high), f"an integer from 1 to {high}", default=default)


def flag(default: bool) -> Rule:
    return Rule(boolean, "true, false", default=default)


class SeededDropout(nn.Module):
    """Dropout whose masks come from its own generator, seeded when the model is built.

    `train.train` seeds the initial weights (the model is built inside a seeded
    `fork_rng`) but not the training loop, so `nn.Dropout` would draw its masks from
    global RNG state and break "same spec and data → same numbers". The seed is drawn
    whatever `p` is, so the dropout axis of a grid leaves the initial weights alone.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.seed = int(torch.randint(2**62, ()))
        self._gen: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self._gen is None or self._gen.device != x.device:
            self._gen = torch.Generator(device=x.device).manual_seed(self.seed)
        keep = torch.rand(x.shape, generator=self._gen, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def fc_head(inputs: int, hidden: int, act: type[nn.Module], p: float) -> nn.Sequential:
    """conv2's main head (inputs → hidden → 2) with a choice of activation and dropout."""
    return nn.Sequential(nn.Linear(inputs, hidden), act(), SeededDropout(p), nn.Linear(hidden, 2))


# Test-time augmentation: the one-pixel moves (rows, columns) of a digit image whose digit
# predictions are averaged with its own (0: none; 4: up, down, left, right; 8: and the diagonals).
TTA_SHIFTS = {0: (), 4: ((0, 1), (0, -1), (1, 0), (-1, 0)),
              8: ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))}


def tta(default: int = 0) -> Rule:
    return Rule(one_of(*TTA_SHIFTS), ", ".join(map(str, TTA_SHIFTS)), default=default)


def moved(images: torch.Tensor, rows: int, columns: int) -> torch.Tensor:
    """m×1×H×W `images` moved by one pixel at most each way; what moves in is each image's
    background, its darkest pixel (raw 0, standardised or not)."""
    h, w = images.shape[2:]
    low = images.amin(dim=(2, 3), keepdim=True)
    padded = F.pad(images - low, (1, 1, 1, 1)) + low
    return padded[:, :, 1 - rows:1 - rows + h, 1 - columns:1 - columns + w]


class SharedNet(nn.Module):
    """One branch and one digit head for both digits; the main output from `compare`:
    a head on the concatenated features (as PairNet), or, when `head` is a function of
    the two digit logits (`exact=True`), that function.

    `tta` (exact heads only): in eval mode the digit logits are the log of the mean
    softmax over the image and its `tta` one-pixel moves (`moved`). Training never
    sees it: it changes only how one network reads a test digit. `main_loss` False: the main output is a function of the digit
    predictions alone, with nothing to learn, so the loss is the digit terms only
    (see `digitcmp.train.loss_fn`)."""

    sharing, aux = True, True

    def __init__(self, branch: nn.Module, features: int, head, exact: bool = False, tta: int = 0,
                 main_loss: bool = True):
        super().__init__()
        self.branch, self.exact, self.main_loss = branch, exact, main_loss
        self.digit_head = nn.Linear(features, 10)
        self.head = head
        self.shifts = TTA_SHIFTS[tta] if exact else ()

    def _digits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.branch(x)
        return f, self.digit_head(f).float()  # fp32 under bf16 autocast too (exact heads sum logs)

    def forward(self, x: torch.Tensor) -> Output:
        n = x.shape[0]
        images = x.reshape(2 * n, 1, 14, 14)
        f, d = self._digits(images)
        if self.shifts and not self.training:
            views = [d.log_softmax(1)] + [self._digits(moved(images, *s))[1].log_softmax(1) for s in self.shifts]
            d = torch.stack(views).logsumexp(0) - math.log(len(views))  # log of the mean probability
        d = d.view(n, 2, 10)
        d1, d2 = d[:, 0], d[:, 1]
        main = self.head(d1, d2) if self.exact else self.head(f.view(n, -1))
        return Output(main, d1, d2)
