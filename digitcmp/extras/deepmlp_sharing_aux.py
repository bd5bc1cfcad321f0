"""`deepmlp_sharing_aux`: an MLP branch of `depth` (default 4) hidden layers of `hidden`
units, with conv2's main head (2·hidden → hidden → 2): the same depth as conv2 (four
weight layers in the branch) without convolution, to tell depth from convolution.
Options `activation` and `dropout` as conv2x_sharing_aux's."""

from torch import nn

from digitcmp.extras import ACTIVATIONS, SeededDropout, SharedNet, activation, dropout, fc_head, positive_int
from digitcmp.models import Entry


def _deep_mlp_branch(hidden: int, depth: int, act: type[nn.Module], p: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    width = 196
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), act(), SeededDropout(p)]
        width = hidden
    return nn.Sequential(*layers)


def build(hidden: int, activation: str, dropout: float, depth: int) -> SharedNet:
    act, p = ACTIVATIONS[activation], float(dropout)
    branch = _deep_mlp_branch(hidden, depth, act, p)
    return SharedNet(branch, hidden, fc_head(2 * hidden, hidden, act, p))


REGISTER = {"deepmlp_sharing_aux": Entry(build, family="deepmlp", options={
    "activation": activation(), "dropout": dropout(), "depth": positive_int(4, high=64)})}
