"""`probcmp_augment`: `probcmp_conv`'s network (same builder, same options), as its own
architecture name so that it has a grid and a stage of its own: the one whose grid
turns on label-preserving augmentation of the training pairs (`digitcmp.training.augment`).
probcmp_conv beside it, on the same data draws, is then the ablation: what the
augmentation bought, with everything else equal.
"""

from digitcmp.training.extras.probcmp_conv import REGISTER as PROBCMP
from digitcmp.training.models import Entry

_network = PROBCMP["probcmp_conv"]
REGISTER = {"probcmp_augment": Entry(_network.build, family=_network.family, options=_network.options)}
