"""`patched_digits`: scikit-learn's 8x8 digits with a bright patch whose position is spurious.

Images are the 1797 bundled 8x8 digits (pixel values 0..16, flattened row by row into 64
features). ``task`` maps the digit to the class y:

* "low_high": 0-4 -> 0, 5-9 -> 1 (binary, the default);
* "parity": even -> 0, odd -> 1 (binary);
* "all": the digit itself (10 classes).

A 2x2 block of value ``patch_intensity`` is stamped at one of ``n_classes`` positions on the
border ring of the image (the 2-pixel-wide frame, tiled into twelve 2x2 blocks numbered clockwise
from the top-left corner; position k is block ``floor(12 k / n_classes)``, so the binary tasks
use the top-left and bottom-right corners). The position is an attribute a that agrees with y with
probability ``rho(shift)``:

* shift 0: ``rho = train_correlation`` (the training distribution);
* shift 1: ``rho = 1 - train_correlation`` (the correlation is reversed);
* linear in between; a disagreeing a is uniform over the other positions (so for the binary
  tasks shift 0.5 makes the position independent of y; for "all" that is rho = 0.1).

Roles: the pixels of every block a patch can occupy are "spurious" (even where they hold ink, as
a patch may cover them); of the others, those that are 0 in every bundled image are "noise"
(pixels 0, 32 and 39 minus any under a patch block) and the rest "core". A binary task leaves 54
core pixels; "all" patches 10 of the 12 ring blocks and leaves only 23, so the core-only reference
is much weaker there. The counterfactual is the same image with the patch moved to
position ``(a + 1) mod n_classes`` (for two classes: the other one), the original pixels restored
under the block it left. ``pixel_noise`` adds N(0, pixel_noise^2) to every pixel after stamping
(the same noise in the counterfactual). ``patch = false`` gives the plain digits task: no patch,
no attribute, only core and noise pixels, and the shift changes nothing.

Rows come from a fixed seeded split of the 1797 images (``split_seed``, ``test_fraction``):
training draws (``split="train"``) and test draws (``split="test"``) never share an image; see
`_real` for how rows are drawn. There is no Bayes oracle: the oracle methods return None, and the
harness's invariant reference is the same model trained and tested on the core pixels alone.

Parameters
----------
task : the digit -> class map: "low_high" (0-4 vs 5-9), "parity" (even vs odd) or "all" (ten
    classes).
patch : stamp the patch (default) or give the plain digits task (false).
train_correlation : P(a = y) in training, in [0, 1].
patch_intensity : pixel value of the patch (>= 0; the digits' own range is 0..16).
pixel_noise : standard deviation of the Gaussian noise added to every pixel (>= 0).
split_seed : seed of the train / test split of the images outside the harness, which splits
    afresh for every seed (`_real`).
test_fraction : share of each class held out for testing, in (0, 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from spurbench.generators._real import (
    DEFAULT_TEST_FRACTION,
    PooledGenerator,
    RowPool,
    check_flag,
    load_table,
)
from spurbench.generators.base import (
    Generator,
    Sample,
    agreement,
    check_choice,
    check_probability,
    check_real,
    counterfactual_attribute,
    draw_attribute,
)
from spurbench.registry import register_generator

SIDE = 8
TASKS = {
    "low_high": np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]),
    "parity": np.arange(10) % 2,
    "all": np.arange(10),
}
# Top-left corners of the twelve 2x2 blocks of the border ring, clockwise from the top-left.
RING = ((0, 0), (0, 2), (0, 4), (0, 6), (2, 6), (4, 6), (6, 6), (6, 4), (6, 2), (6, 0), (4, 0), (2, 0))


def block_pixels(row: int, col: int) -> np.ndarray:
    """Flat indices of the 2x2 block whose top-left pixel is (`row`, `col`)."""
    return np.array([row * SIDE + col, row * SIDE + col + 1,
                     (row + 1) * SIDE + col, (row + 1) * SIDE + col + 1])


@register_generator("patched_digits")
class PatchedDigits(PooledGenerator, Generator):
    """8x8 digits with a 2x2 patch whose position agrees with the class, then reverses."""

    image_shape = (8, 8)

    source = "real table"

    @classmethod
    def data_family(cls, params: Mapping[str, Any]) -> str:
        """The digits table, whatever the patch: one process with its real-data learning curves."""
        return "table:digits"

    def __init__(
        self,
        task: str = "low_high",
        patch: bool = True,
        train_correlation: float = 0.9,
        patch_intensity: float = 16.0,
        pixel_noise: float = 0.0,
        split_seed: int = 0,
        test_fraction: float = DEFAULT_TEST_FRACTION,
    ):
        self.task = check_choice("task", task, tuple(TASKS))
        self.patch = check_flag("patch", patch)
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.patch_intensity = check_real("patch_intensity", patch_intensity, minimum=0)
        self.pixel_noise = check_real("pixel_noise", pixel_noise, minimum=0)
        self._pixels, digit = load_table("digits")
        self._y = TASKS[self.task][digit]
        self.pool = RowPool(self._y, test_fraction, split_seed)
        self.n_classes = len(np.unique(TASKS[self.task]))
        self.patch_pixels = np.stack(
            [block_pixels(*RING[len(RING) * k // self.n_classes]) for k in range(self.n_classes)]
        )
        roles = np.where(self._pixels.max(axis=0) == 0, "noise", "core").astype(object)
        if self.patch:
            roles[self.patch_pixels.ravel()] = "spurious"
        self.roles = tuple(roles)

    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return agreement(self.train_correlation, shift)

    def _stamp(self, images: np.ndarray, attr: np.ndarray) -> np.ndarray:
        """Copies of `images` with the patch at position `attr` of each."""
        out = images.copy()
        out[np.arange(len(out))[:, None], self.patch_pixels[attr]] = self.patch_intensity
        return out

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        rho = self.agreement(shift)
        rows = self.pool.draw(n, split, rng)
        images, y = self._pixels[rows], self._y[rows]
        attr = group = X_cf = None
        X = images
        if self.patch:
            attr = draw_attribute(y, rho, self.n_classes, rng)
            group = self.n_classes * y + attr
            X = self._stamp(images, attr)
            X_cf = self._stamp(images, counterfactual_attribute(attr, self.n_classes))
        if self.pixel_noise:
            noise = rng.normal(0.0, self.pixel_noise, size=X.shape)
            X = X + noise
            X_cf = None if X_cf is None else X_cf + noise
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=group, X_counterfactual=X_cf)
