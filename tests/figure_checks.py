"""What a reader sees collide in a figure: drawn texts that overlap, legends larger than their axes.

Measured on the figure as it is drawn (`collisions`): every `Text` that draws (titles, axis
labels, tick labels inside the view, legend texts, annotations) is recorded with its window
extent while the figure renders, as a rectangle turned by the text's rotation (a rotated label's
axis-aligned box would overlap its neighbours' though the glyphs do not). Two texts collide
when their rectangles, each shrunk by `TOLERANCE_PX` on every side, still intersect.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

TOLERANCE_PX = 1.0  # per side: two texts may touch by up to 2 px (antialiased edges) and pass


@contextlib.contextmanager
def _recorded(found: list[Text]) -> Iterator[None]:
    """Record every Text whose draw puts something on the canvas."""
    draw = Text.draw

    def recording(self: Text, renderer: object) -> None:
        draw(self, renderer)
        shown = self.get_alpha() is None or self.get_alpha() > 0
        if self.get_visible() and self.get_text().strip() and shown:
            found.append(self)

    Text.draw = recording
    try:
        yield
    finally:
        Text.draw = draw


def _corners(text: Text, renderer: object) -> np.ndarray:
    """The text's rectangle (4 x 2, pixels), turned by its rotation about its box's centre (the
    centre of a rotated rectangle is the centre of its axis-aligned bounding box)."""
    box = text.get_window_extent(renderer)
    angle = math.radians(text.get_rotation())
    if abs(math.sin(angle) * math.cos(angle)) < 1e-9:  # 0, 90, 180, 270 degrees: the box itself
        half = np.array([box.width, box.height]) / 2 - TOLERANCE_PX
        turn = np.eye(2)
    else:
        rotation = text.get_rotation()
        text.set_rotation(0)  # measured level, then turned back
        flat = text.get_window_extent(renderer)
        text.set_rotation(rotation)
        half = np.array([flat.width, flat.height]) / 2 - TOLERANCE_PX
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    half = np.maximum(half, 0)
    unit = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    return np.array([box.x0 + box.width / 2, box.y0 + box.height / 2]) + unit @ turn.T


def _separated(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex quadrilaterals."""
    for shape in (a, b):
        for i in range(4):
            edge = shape[(i + 1) % 4] - shape[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return True
    return False


def drawn_texts(fig: plt.Figure) -> list[Text]:
    """The texts `fig` draws, in drawing order (the figure rendered once, at its saved dpi)."""
    found: list[Text] = []
    with _recorded(found):
        fig.canvas.draw()
    return found


def text_overlaps(fig: plt.Figure) -> list[tuple[str, str]]:
    """Pairs of drawn texts that overlap by more than the tolerance, as their strings."""
    renderer = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    boxes = np.array([t.get_window_extent(renderer).extents for t in texts]).reshape(-1, 4)
    corners = [_corners(t, renderer) for t in texts]
    # Candidates first: axis-aligned boxes that intersect (vectorised), then the exact test.
    cross = ((boxes[:, None, 0] < boxes[None, :, 2] - 2 * TOLERANCE_PX)
             & (boxes[None, :, 0] < boxes[:, None, 2] - 2 * TOLERANCE_PX)
             & (boxes[:, None, 1] < boxes[None, :, 3] - 2 * TOLERANCE_PX)
             & (boxes[None, :, 1] < boxes[:, None, 3] - 2 * TOLERANCE_PX))
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(cross, 1)), strict=True):
        if not _separated(corners[i], corners[j]):
            pairs.append((texts[i].get_text(), texts[j].get_text()))
    return pairs


def oversized_legends(fig: plt.Figure) -> list[str]:
    """Legends larger than what they label: an axes' legend must fit in its axes; a figure's
    legend beside the panels must be no taller than they are, one above or below no wider."""
    renderer = fig.canvas.get_renderer()
    panels = [ax.get_window_extent(renderer) for ax in fig.axes
              if ax.get_visible() and ax.get_label() != "<colorbar>"]
    problems = []
    for legend in fig.findobj(Legend):
        if not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        if legend.axes is not None and legend in legend.axes.get_children():
            room = legend.axes.get_window_extent(renderer)
            fits = box.width <= room.width + 2 and box.height <= room.height + 2
        else:
            room = Bbox.union(panels)
            beside = box.x0 >= room.x1 - 2 or box.x1 <= room.x0 + 2
            fits = box.height <= room.height + 2 if beside else box.width <= room.width + 2
        if not fits:
            problems.append(f"legend {box.width:.0f}x{box.height:.0f} px over panels of "
                            f"{room.width:.0f}x{room.height:.0f}")
    return problems


def collisions(fig: plt.Figure) -> list[str]:
    """Everything a reader would see collide in `fig` drawn at the current style's saved dpi,
    in words (empty when nothing does)."""
    saved = plt.rcParams["savefig.dpi"]
    dpi = fig.dpi
    fig.set_dpi(dpi if saved == "figure" else float(saved))
    try:
        overlaps = [f"{a!r} overlaps {b!r}" for a, b in text_overlaps(fig)]
        return overlaps + oversized_legends(fig)
    finally:
        fig.set_dpi(dpi)
