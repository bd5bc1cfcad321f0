"""`probcmp_wide`, `probcmp_onecycle`, `probcmp_tta`: `probcmp_augment`'s network (same
builder, same options) under three more names, each a stage with a grid of its own, so
that each lever of the tuned network has its paired ablation on the same data draws:

- `probcmp_wide`: probcmp_augment's grid at twice the channels (width 32);
- `probcmp_onecycle`: and the one-cycle learning-rate schedule (`digitcmp.train`);
- `probcmp_tta`: and test-time augmentation (`tta`), the tuned network.

Each differs from the one before in one lever; params.yaml's entries say which, with
the validation-only evidence they were chosen on.
"""

from digitcmp.training.extras.probcmp_conv import REGISTER as PROBCMP
from digitcmp.training.models import Entry

_network = PROBCMP["probcmp_conv"]
REGISTER = {name: Entry(_network.build, family=_network.family, options=_network.options)
            for name in ("probcmp_wide", "probcmp_onecycle", "probcmp_tta")}
