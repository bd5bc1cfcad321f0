"""Extra architectures beyond the study's sixteen, kept apart from them.

Each returns `Output(main, digit1, digit2)` like `models.PairNet`, and every extra has
digit heads (`aux = True`), so `train.train` uses them unchanged with the loss
main + λ·(aux₁ + aux₂). All share one branch between the two digits.

- `probcmp_conv`: a comparator that reads the two digit distributions. A shared
  ConvNet branch (batch norm, padding) gives digit logits; the main output is not a
  learned head but P(a ≤ b) = Σ_{i≤j} p_a(i)·p_b(j) of the two softmaxes, returned
  as the 2-class logits (log(1 − P), log P). The comparison is then exact given the
  digits, so all learning goes into reading digits, and the main loss trains the
  branch too. `hidden`: the branch's fully connected width; `width` (default 16):
  the convs' base channel count (width, width, 2·width, 2·width). Width 16 costs
  about one conv2_sharing_aux training (width 32: ~4×).
- `conv2x_sharing_aux`: the study's conv2_sharing_aux (Table 3) with the study's §5
  open options: `activation` (relu, leaky_relu, tanh, sigmoid) and `dropout`
  (probability, on the features and the main head's hidden layer).
- `deepmlp_sharing_aux`: an MLP branch of `depth` (default 4) hidden layers of
  `hidden` units, with conv2's main head (2·hidden → hidden → 2): the same depth as
  conv2 (four weight layers in the branch) without convolution, to tell depth from
  convolution. Options `activation`, `dropout` as above.

Options are keyword arguments of `build(name, hidden, **options)`; each extra accepts
`activation` and `dropout`; probcmp_conv also `batchnorm` (bool) and `width`.
"""

import torch
from torch import nn

from digitcmp.errors import UserError
from digitcmp.output import Output

EXTRAS = ("probcmp_conv", "conv2x_sharing_aux", "deepmlp_sharing_aux")
CONVNETS = ("probcmp_conv", "conv2x_sharing_aux")
ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
OPTIONS = {  # option → default, per extra
    "probcmp_conv": {"activation": "relu", "dropout": 0.0, "batchnorm": True, "width": 16},
    "conv2x_sharing_aux": {"activation": "relu", "dropout": 0.0},
    "deepmlp_sharing_aux": {"activation": "relu", "dropout": 0.0, "depth": 4},
}


def _int_up_to(high: int):
    # An upper bound, so that no option makes a model too large to even price
    # (digitcmp.bounds counts models of width 1 to 3 at the option's value).
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= high


# option → (is a value allowed?, what is allowed), for the options of every extra
OPTION_RULES = {
    "activation": (lambda v: isinstance(v, str) and v in ACTIVATIONS, ", ".join(ACTIVATIONS)),
    "dropout": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v < 1.0,
                "a number in [0, 1)"),
    "batchnorm": (lambda v: isinstance(v, bool), "true, false"),
    "depth": (_int_up_to(64), "an integer from 1 to 64"),
    "width": (_int_up_to(256), "an integer from 1 to 256"),
}


def disallowed(key: str, value) -> str | None:
    """What option `key` allows, if `value` is not allowed; None if it is."""
    ok, allowed = OPTION_RULES[key]
    return None if ok(value) else allowed


def check_options(name: str, options: dict) -> dict:
    """`options` completed with defaults; an unknown key or bad value is a one-line UserError."""
    allowed = OPTIONS[name]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UserError(f"{name}: unknown option {unknown[0]!r}; allowed: {', '.join(allowed)}")
    opts = {**allowed, **options}
    for key, value in opts.items():
        if (what := disallowed(key, value)) is not None:
            raise UserError(f"{name}: {key} {value!r} is not allowed; allowed: {what}")
    return opts


def log_p_leq(digit1: torch.Tensor, digit2: torch.Tensor) -> torch.Tensor:
    """N×2 logits (log P(a > b), log P(a ≤ b)) from two N×10 digit logits, a and b independent.

    Sums p_a(i)·p_b(j) over the i ≤ j (resp. i > j) cells of the 10×10 joint in log
    space, so neither side underflows when the network is confident.
    """
    joint = digit1.log_softmax(1)[:, :, None] + digit2.log_softmax(1)[:, None, :]  # N×10×10
    leq = torch.ones(10, 10, dtype=torch.bool, device=joint.device).triu()  # i ≤ j
    log_leq = joint.masked_fill(~leq, float("-inf")).logsumexp((1, 2))
    log_gt = joint.masked_fill(leq, float("-inf")).logsumexp((1, 2))
    return torch.stack([log_gt, log_leq], dim=1)


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


def _conv_bn_branch(hidden: int, act: type[nn.Module], dropout: float, batchnorm: bool,
                    width: int) -> nn.Sequential:
    """Two blocks of two padded 3×3 convs + 2×2 max-pool (14 → 7 → 3), with `width`,
    `width`, 2·`width`, 2·`width` channels, then FC to `hidden`.

    Padding keeps the 14×14 border; batch norm makes 250 Adam steps (25 epochs of
    10 batches) enough to fit. (Channels-last layout, as for every ConvNet, comes from
    `digitcmp.fast.fast_layout`: about 1.5× faster at width 16 on one thread.)
    """
    norm2d = nn.BatchNorm2d if batchnorm else (lambda c: nn.Identity())
    norm1d = nn.BatchNorm1d if batchnorm else (lambda c: nn.Identity())

    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=not batchnorm), norm2d(cout), act()]

    w = width
    return nn.Sequential(
        *conv(1, w), *conv(w, w), nn.MaxPool2d(2),
        *conv(w, 2 * w), *conv(2 * w, 2 * w), nn.MaxPool2d(2),
        nn.Flatten(), SeededDropout(dropout),
        nn.Linear(2 * w * 3 * 3, hidden, bias=not batchnorm), norm1d(hidden), act(), SeededDropout(dropout),
    )


def _conv2_branch(act: type[nn.Module]) -> nn.Sequential:
    """Table 3's branch (as `models._conv2`) with a choice of activation: 512 features."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), act(), nn.Conv2d(16, 32, 3), act(), nn.Conv2d(32, 64, 3), act(),
        nn.MaxPool2d(2, 2), nn.Conv2d(64, 128, 2), act(), nn.Flatten(),
    )


def _deep_mlp_branch(hidden: int, depth: int, act: type[nn.Module], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    width = 196
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), act(), SeededDropout(dropout)]
        width = hidden
    return nn.Sequential(*layers)


class SharedNet(nn.Module):
    """One branch and one digit head for both digits; the main output from `compare`.

    compare: "exact" (P(a ≤ b) of the digit softmaxes) or "features" (a head on the
    concatenated features, as PairNet).
    """

    aux = True  # `train.evaluate` reports digit accuracy for models with digit heads

    def __init__(self, branch: nn.Module, features: int, compare: str, head: nn.Module | None = None):
        super().__init__()
        self.branch, self.compare = branch, compare
        self.digit_head = nn.Linear(features, 10)
        self.head = head

    def forward(self, x: torch.Tensor) -> Output:
        n = x.shape[0]
        f = self.branch(x.reshape(2 * n, 1, 14, 14))
        d = self.digit_head(f).float().view(n, 2, 10)  # fp32 under bf16 autocast too: log_p_leq's sums
        d1, d2 = d[:, 0], d[:, 1]
        if self.compare == "exact":
            main = log_p_leq(d1, d2)
        else:
            main = self.head(f.view(n, -1))
        return Output(main, d1, d2)


def _fc_head(inputs: int, hidden: int, act: type[nn.Module], dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), act(), SeededDropout(dropout), nn.Linear(hidden, 2))


def build(name: str, hidden: int, **options) -> SharedNet:
    """The extra architecture `name` with `hidden` units and `options` (see OPTIONS)."""
    if name not in EXTRAS:
        raise UserError(f"unknown extra architecture {name!r}; allowed: {', '.join(EXTRAS)}")
    opts = check_options(name, options)
    act, p = ACTIVATIONS[opts["activation"]], float(opts["dropout"])
    if name == "probcmp_conv":
        return SharedNet(_conv_bn_branch(hidden, act, p, opts["batchnorm"], opts["width"]), hidden, "exact")
    if name == "conv2x_sharing_aux":
        return SharedNet(nn.Sequential(_conv2_branch(act), SeededDropout(p)), 512, "features",
                         _fc_head(2 * 512, hidden, act, p))
    branch = _deep_mlp_branch(hidden, opts["depth"], act, p)
    return SharedNet(branch, hidden, "features", _fc_head(2 * hidden, hidden, act, p))
