"""`deepmlp_sharing_aux`: conv2_sharing_aux without convolution, to tell depth from
convolution. The branch is `depth` (default 4, conv2's four weight layers) fully
connected layers of `width` units (default 512, conv2's feature count), so the main
head is conv2's exactly: Linear(2·512, hidden) · ReLU · Linear(hidden, 2), with the
same aux head Linear(512, 10). `hidden` is tuned over the same grid as conv2's. It has
more weights than conv2 (about 0.95 to 1.2 million against 0.11 to 0.37 million over
hidden 50 to 300): the comparison gives the MLP the advantage of size.
Options `activation` and `dropout` as conv2x_sharing_aux's."""

from torch import nn

from digitcmp.training.extras import ACTIVATIONS, SeededDropout, SharedNet, activation, dropout, fc_head, positive_int
from digitcmp.training.models import Entry


def _deep_mlp_branch(width: int, depth: int, act: type[nn.Module], p: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    inputs = 196
    for _ in range(depth):
        layers += [nn.Linear(inputs, width), act(), SeededDropout(p)]
        inputs = width
    return nn.Sequential(*layers)


def build(hidden: int, activation: str, dropout: float, depth: int, width: int) -> SharedNet:
    act, p = ACTIVATIONS[activation], float(dropout)
    return SharedNet(_deep_mlp_branch(width, depth, act, p), width, fc_head(2 * width, hidden, act, p))


REGISTER = {"deepmlp_sharing_aux": Entry(build, family="deepmlp", options={
    "activation": activation(), "dropout": dropout(), "depth": positive_int(4, high=64),
    "width": positive_int(512)})}
