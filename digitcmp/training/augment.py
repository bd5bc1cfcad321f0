"""Label-preserving augmentation of training pairs (an option of the extras' grids; the
study used none, so its sixteen never get any).

`digitcmp.training.train` applies `augment` to each training minibatch only: validation and test
sets are scored, never augmented. Every draw comes from a generator that `train` seeds
from the spec, so the same spec and data give the same numbers.

- `swap`: with probability 1/2 a pair's two digits trade places, and its target is
  recomputed from the swapped classes: it flips, unless the two digits are equal.
- `rotate` (degrees), `shift` (pixels), `scale` (a fraction): one random affine map per
  digit image, each amount uniform in ±its value, bilinear; the background fills what
  moves in.
- `elastic` (pixels): a smooth random displacement field per image (white noise under
  a Gaussian filter of σ = 1.5 px, scaled so each coordinate's displacement has this
  standard deviation), as in Simard et al. 2003's elastic distortions.

Every transform keeps a digit's class (small amounts: a 6 rotated by 180° would be a 9,
so `rotate` is capped), and the target follows the classes, so labels stay right.
"""

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from digitcmp.training.checks import Rule, boolean, number


# Each defaults to off. Grid keys of any extra (`extras.<name>.<option>` in params.yaml).
OPTIONS = {
    "swap": Rule(boolean, "true, false", default=False),
    "rotate": Rule(number(0, 45), "a number of degrees from 0 to 45", default=0.0),
    "shift": Rule(number(0, 4), "a number of pixels from 0 to 4", default=0.0),
    "scale": Rule(number(0, 0.5), "a fraction from 0 to 0.5", default=0.0),
    "elastic": Rule(number(0, 2), "a number of pixels from 0 to 2", default=0.0),
}
SIGMA = 1.5  # px: the elastic field's smoothness
_TAPS = 3  # the Gaussian filter's half-width in pixels (7 taps)


def active(settings: Mapping) -> bool:
    """Whether any transform is on."""
    return any(settings.get(key, option.default) for key, option in OPTIONS.items())


def _gaussian() -> torch.Tensor:
    r = torch.arange(-_TAPS, _TAPS + 1, dtype=torch.float32)
    k = torch.exp(-r**2 / (2 * SIGMA**2))
    return k / k.sum()


def _elastic_field(m: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """m×size×size×2 displacements with unit standard deviation per coordinate."""
    k = _gaussian()
    noise = torch.randn(m * 2, 1, size, size, generator=gen)
    d = F.conv2d(F.pad(noise, (_TAPS, _TAPS, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    d = F.conv2d(F.pad(d, (0, 0, _TAPS, _TAPS), mode="reflect"), k.view(1, 1, -1, 1))
    std = (k**2).sum()  # a separable filter of unit-variance noise: variance Σk² per pass
    return (d / std).view(m, 2, size, size).permute(0, 2, 3, 1)


def warp(images: torch.Tensor, gen: torch.Generator, background: float, rotate: float = 0.0,
         shift: float = 0.0, scale: float = 0.0, elastic: float = 0.0) -> torch.Tensor:
    """Each of the m×1×H×W `images` under its own random affine map and elastic field."""
    m, _, h, w = images.shape
    uniform = lambda: torch.rand(m, generator=gen) * 2 - 1  # noqa: E731
    angle, zoom = uniform() * math.radians(rotate), 1 + uniform() * scale
    tx, ty = uniform() * shift * 2 / w, uniform() * shift * 2 / h  # pixels → [-1, 1] coordinates
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, [m, 1, h, w], align_corners=False)
    if elastic:
        grid = grid + elastic * 2 / w * _elastic_field(m, h, gen)
    # Resampled around the background value, so what moves in from outside is background.
    moved = F.grid_sample(images - background, grid.to(images.device, images.dtype), mode="bilinear",
                          padding_mode="zeros", align_corners=False)
    return moved + background


def augment(x: torch.Tensor, classes: torch.Tensor, gen: torch.Generator, background: float,
            settings: Mapping) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input, target, classes) of an augmented minibatch of N pairs: `x` N×2×H×W,
    `classes` N×2; `settings` maps options of OPTIONS to values (missing ones: off)."""
    opts = {key: settings.get(key, option.default) for key, option in OPTIONS.items()}
    if opts["swap"]:
        flip = (torch.rand(len(x), generator=gen) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(1), x)
        classes = torch.where(flip[:, None], classes.flip(1), classes)
    n, _, h, w = x.shape
    if opts["rotate"] or opts["shift"] or opts["scale"] or opts["elastic"]:
        flat = warp(x.reshape(2 * n, 1, h, w), gen, background, opts["rotate"], opts["shift"],
                    opts["scale"], opts["elastic"])
        x = flat.view(n, 2, h, w)
    target = (classes[:, 0] <= classes[:, 1]).long()
    return x, target, classes
