"""`conv2x_sharing_aux`: the study's conv2_sharing_aux (Table 3) with the study's §5 open
options: `activation` (relu, leaky_relu, tanh, sigmoid) and `dropout` (probability, on
the features and the main head's hidden layer)."""

from torch import nn

from digitcmp.training.extras import ACTIVATIONS, SeededDropout, SharedNet, activation, dropout, fc_head
from digitcmp.training.models import CONV2_FEATURES, Entry, conv2_branch


def build(hidden: int, activation: str, dropout: float) -> SharedNet:
    act, p = ACTIVATIONS[activation], float(dropout)
    return SharedNet(nn.Sequential(conv2_branch(act), SeededDropout(p)), CONV2_FEATURES,
                     fc_head(2 * CONV2_FEATURES, hidden, act, p))


REGISTER = {"conv2x_sharing_aux": Entry(build, family="conv2x", options={
    "activation": activation(), "dropout": dropout()})}
