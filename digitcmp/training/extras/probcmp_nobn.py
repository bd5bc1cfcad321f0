"""`probcmp_nobn`: `probcmp_conv`'s network without batch norm (its convs and FC layer then
have biases), as its own architecture name so that it has a grid and a stage of its own:
beside probcmp_conv, on the same data draws and the same grid, it is the ablation of what
batch norm bought.
"""

from torch import nn

from digitcmp.training.extras.probcmp_conv import REGISTER as PROBCMP
from digitcmp.training.models import Entry

_network = PROBCMP["probcmp_conv"]


def build(hidden: int, **options) -> nn.Module:
    return _network.build(hidden, **options, batchnorm=False)


REGISTER = {"probcmp_nobn": Entry(build, family=_network.family,
                                  options={k: v for k, v in _network.options.items() if k != "batchnorm"})}
