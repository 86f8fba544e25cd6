"""How the report's figures look and are saved: one style file, one colour scheme, no timestamps.

Paradigm sets the colour family (generative: blues, discriminative: oranges, oracles: greys) and
the line style (solid, dashed, dotted); within a paradigm each model gets its own shade and
marker. A model group (`GROUP_LOOK`) takes its paradigm's colour family, dark for the
parametric / linear group, and its paradigm's dashes; a group's best model is a thin starred line
(`BEST_LOOK`). Names sort naturally (`natural_key`) and titles wrap to their panel (`wrapped`).
Saving strips every field that changes between runs, so the same results give byte-identical PNG
and PDF files.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

STYLE = Path(__file__).with_name("spurbench.mplstyle")
# Each format with the metadata fields that would change between runs (stripped).
FORMATS = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None, "Creator": None}}
# PNG is what report.md and report.html show; PDF (vector, for papers) is asked for, since it
# doubles the time a figure takes (font subsetting): `spurbench report --pdf`, `make figures`.
REPORT_FORMATS = ("png",)
PAPER_FORMATS = ("png", "pdf")
COLORMAPS = {"generative": "Blues", "discriminative": "Oranges", "oracle": "Greys"}
SHADE_RANGE = {"generative": (0.45, 0.95), "discriminative": (0.4, 0.9), "oracle": (0.45, 0.75)}
DASHES = {"generative": "", "discriminative": (4, 1.5), "oracle": (1, 1)}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "p", "h", "<", ">")
GROUP_LOOK = {  # colour family by paradigm, dark for the parametric / linear group
    "parametric_generative": ("Blues", 0.85, ""),
    "flexible_generative": ("Blues", 0.5, ""),
    "linear_discriminative": ("Oranges", 0.8, (4, 1.5)),
    "nonlinear_discriminative": ("Oranges", 0.5, (4, 1.5)),
}
GROUP_MARKERS = {"parametric_generative": "o", "flexible_generative": "s", "linear_discriminative": "D",
                 "nonlinear_discriminative": "^"}
BASELINE_LOOK = {"bayes_accuracy": ("Bayes oracle", (0, (5, 2))),
                 "invariant_accuracy": ("invariant oracle", "-."),
                 "majority_accuracy": ("majority-class rate", ":")}
BEST_LOOK = {"linewidth": 0.8, "marker": "*", "markersize": 4}  # the best model of a group


def paradigm_colour(paradigm: str) -> tuple[float, ...]:
    """The representative colour of a paradigm (the middle of its shade range)."""
    low, high = SHADE_RANGE[paradigm]
    return mpl.colormaps[COLORMAPS[paradigm]]((low + high) / 2)


def group_colour(group: str) -> tuple[float, ...]:
    cmap, shade, _ = GROUP_LOOK[group]
    return mpl.colormaps[cmap](shade)


def group_linestyle(group: str) -> str | tuple:
    dash = GROUP_LOOK[group][2]
    return "-" if dash == "" else (0, dash)


def natural_key(name: object) -> tuple:
    """Sort key under which numbers inside a name sort as numbers ("noise200" before "noise1000")."""
    parts = re.split(r"(\d+)", str(name))
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts)), str(name)


TITLE_CHAR_POINTS = 0.62  # of the font size: a DejaVu Sans character's width, rounded up


def wrapped(text: str, inches: float, points: float = 9) -> str:
    """`text` broken after "_", ":" or " " into lines that fit `inches` at `points` (whole
    characters counted, so the breaks never depend on a float's last bit); a part longer than a
    line stays whole."""
    room = max(int(inches * 72 / (TITLE_CHAR_POINTS * points)), 4)
    lines = [""]
    for part in re.findall(r"[^_: ]+[_: ]*|[_: ]+", text):
        if lines[-1] and len(lines[-1]) + len(part.rstrip(" ")) > room:
            lines.append("")
        lines[-1] += part
    return "\n".join(line.rstrip(" ") for line in lines)


def model_styles(models: list[str], paradigm_of: dict[str, str]) -> dict[str, dict]:
    """Per model, in `models` order: colour, dashes and marker (as seaborn's mappings want them).

    Returns ``{"palette": {...}, "dashes": {...}, "markers": {...}}``.
    """
    palette, dashes, markers = {}, {}, {}
    for paradigm, cmap in COLORMAPS.items():
        members = [m for m in models if paradigm_of[m] == paradigm]
        shades = np.linspace(*SHADE_RANGE[paradigm], num=max(len(members), 1))
        for i, model in enumerate(members):
            palette[model] = mpl.colormaps[cmap](shades[i])
            dashes[model] = DASHES[paradigm]
            markers[model] = MARKERS[i % len(MARKERS)]
    return {"palette": palette, "dashes": dashes, "markers": markers}


def add_model_legend(fig: plt.Figure, models: list[str], paradigm_of: dict[str, str],
                     look: dict[str, dict], lines: bool = True) -> None:
    """One legend beside the panels (laid out already), never taller than they are, models listed
    under a bold heading per paradigm."""
    handles, labels = [], []
    for paradigm in COLORMAPS:
        members = [m for m in models if paradigm_of[m] == paradigm]
        if not members:
            continue
        handles.append(Line2D([], [], linestyle="none"))
        labels.append(paradigm)
        for model in members:
            dash = look["dashes"][model]
            handles.append(Line2D(
                [], [], color=look["palette"][model], marker=look["markers"][model],
                linestyle=("-" if dash == "" else (0, dash)) if lines else "none"))
            labels.append(model)
    # Columns as the figure's height suggests, more while the legend (measured, in whole pixels)
    # is taller than the panels beside it.
    renderer = fig.canvas.get_renderer()
    panels = Bbox.union([ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()])
    for ncols in range(legend_columns(fig, len(labels)), len(labels) + 1):
        legend = fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
                            handlelength=2.6, ncols=ncols)
        if ncols == len(labels) or int(legend.get_window_extent(renderer).height) <= int(panels.height):
            break
        legend.remove()
    for text in legend.get_texts():
        if text.get_text() in COLORMAPS:
            text.set_fontweight("bold")


LEGEND_ENTRY_INCHES = 0.19  # one legend entry at the style's 8-point legend font, with spacing


def legend_height(entries: int) -> float:
    """Inches a one-column legend of `entries` takes."""
    return entries * LEGEND_ENTRY_INCHES


def legend_columns(fig: plt.Figure, entries: int) -> int:
    """Columns a legend needs so that it is never taller than its figure."""
    rows = max(int(fig.get_size_inches()[1] / LEGEND_ENTRY_INCHES), 1)
    return -(-entries // rows)


def tight_bbox(fig: plt.Figure) -> Bbox:
    """The figure's tight bounding box (inches, padded) at the saved resolution, as savefig's
    `bbox_inches="tight"` measures it."""
    dpi = fig.dpi
    fig.set_dpi(mpl.rcParams["savefig.dpi"])
    try:
        return fig.get_tightbbox(fig.canvas.get_renderer()).padded(mpl.rcParams["savefig.pad_inches"])
    finally:
        fig.set_dpi(dpi)


def save(fig: plt.Figure, out_dir: Path, name: str,
         formats: tuple[str, ...] = PAPER_FORMATS) -> list[Path]:
    """Write `fig` as `<name>.<format>` under `out_dir` for each of `formats`, without
    run-dependent metadata."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with plt.style.context(STYLE):
        # The tight bounding box, measured once on the layout already made: savefig's "tight"
        # draws the whole figure once more before every format, a third of the time to save one.
        bbox = tight_bbox(fig)
        if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
            # What tight_layout leaves behind: it lays nothing out, but savefig would draw once
            # more before each format for it.
            fig.set_layout_engine(None)
        for ext in formats:
            path = out_dir / f"{name}.{ext}"
            fig.savefig(path, format=ext, metadata=FORMATS[ext], bbox_inches=bbox)
            paths.append(path)
    plt.close(fig)
    return paths
