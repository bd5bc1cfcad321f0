"""Seeds derived from names, never from global state or scheduling order.

Every random draw in the study (data split, pair draws, initial weights, batch
order) takes its seed from `derive_seed(base_seed, "what", unit, ...)`, so a unit of
work gives the same numbers whichever worker runs it and in whichever order.
"""

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from the repr of `parts` (stable across runs and machines)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def rng(*parts: object) -> np.random.Generator:
    """A numpy generator seeded by `derive_seed(*parts)`."""
    return np.random.default_rng(derive_seed(*parts))
