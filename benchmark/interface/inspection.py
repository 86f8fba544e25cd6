"""Look inside one fitted model: the examples it generates (`spurbench sample`) and the features
it leans on (`spurbench explain`).

Both fit the model exactly as the benchmark does for (scenario, seed, largest n_train, run seed
0): the training sample is ``scenario.generator().sample(max(n_train), 0.0, rng, split="train")``
with ``rng = SeedSequence(0, spawn_key=stable_hash(scenario.content_hash(), seed, "train",
n_train))`` and the model's ``random_state`` is the harness's model seed (both from
`spurbench.harness.fitting.FitTask`), so the model inspected is the one whose results are in the table.
Generated examples use their own stream, keyed by (content hash, model, seed, "sample").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from spurbench.errors import SpurbenchError
from spurbench.evaluation.importance import feature_importance, role_importance
from spurbench.generators.base import Sample
from spurbench.harness.fitting import FitTask
from spurbench.harness.seeding import rng_for
from spurbench.harness.spec import Scenario
from spurbench.registry import get_generator, get_model, list_models
from spurbench.report.style import STYLE
from threadpoolctl import threadpool_limits

IMAGES_PER_CLASS = 8
PNG_METADATA = {"Software": None}  # no version stamp: reruns give identical files


def fit_on_training_data(model_name: str, scenario: Scenario, seed: int = 0) -> tuple[Any, Sample]:
    """The model fitted on the scenario's training sample, as the benchmark fits it (see module)."""
    task = FitTask(scenario, model_name, seed=seed, n_train=max(scenario.n_train))
    train = scenario.generator().sample(task.n_train, 0.0, task.train_rng(), split="train")
    with threadpool_limits(limits=1):
        model = get_model(model_name).build(task.model_seed()).fit(train.X, train.y)
    return model, train


def _require_sample_tag(model_name: str) -> None:
    if "sample" not in get_model(model_name).tags:
        able = ", ".join(e.name for e in list_models() if "sample" in e.tags)
        raise SpurbenchError(f"model {model_name!r} cannot generate examples (no 'sample' tag); "
                             f"models that can: {able}")


def _file_stem(scenario: Scenario, model_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{scenario.name}__{model_name}")


def _plot_columns(roles: tuple[str, ...]) -> list[int]:
    """The first two core features, completed by spurious then noise ones if there are fewer."""
    order = [j for role in ("core", "spurious", "noise") for j, r in enumerate(roles) if r == role]
    return order[:2]


def _scatter_figure(real: Sample, generated: pd.DataFrame, title: str) -> Figure:
    cols = _plot_columns(real.roles)
    fig = Figure(figsize=(8.0, 3.8))
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    n_show = generated["class"].value_counts().max()
    for ax, (label, X, y) in zip(axes, [
        ("real (training sample)", real.X, real.y),
        ("generated", generated.drop(columns="class").to_numpy(), generated["class"].to_numpy()),
    ], strict=True):
        for k in np.unique(y):
            points = X[y == k][:n_show]
            ax.scatter(points[:, cols[0]], points[:, cols[-1]], s=8, alpha=0.6, label=f"class {k}")
        ax.set_title(label)
        ax.set_xlabel(f"x{cols[0]} ({real.roles[cols[0]]})")
    axes[0].set_ylabel(f"x{cols[-1]} ({real.roles[cols[-1]]})")
    axes[1].legend(loc="best", fontsize="small")
    fig.suptitle(title)
    return fig


def _image_figure(real: Sample, generated: pd.DataFrame, shape: tuple[int, int], title: str) -> Figure:
    classes = np.unique(real.y)
    fig = Figure(figsize=(2 * IMAGES_PER_CLASS * 0.55, len(classes) * 0.65 + 0.6))
    axes = fig.subplots(len(classes), 2 * IMAGES_PER_CLASS, squeeze=False)
    pixels = generated.drop(columns="class").to_numpy()
    low, high = real.X.min(), real.X.max()  # one grey scale for real and generated images
    for row, k in enumerate(classes):
        images = list(real.X[real.y == k][:IMAGES_PER_CLASS])
        images += [None] * (IMAGES_PER_CLASS - len(images))
        images += list(pixels[generated["class"].to_numpy() == k][:IMAGES_PER_CLASS])
        for col, ax in enumerate(axes[row]):
            ax.set_axis_off()
            if col < len(images) and images[col] is not None:
                ax.imshow(np.reshape(images[col], shape), cmap="gray_r", vmin=low, vmax=high)
        axes[row, 0].set_title(f"class {k}", fontsize="small", loc="left")
    fig.suptitle(f"{title}\nleft: real training images, right: generated")
    return fig


def sample_examples(model_name: str, scenario: Scenario, n: int, out_dir: str | Path,
                    seed: int = 0) -> list[Path]:
    """Fit `model_name` on `scenario`'s training data and write `n` generated examples per class.

    Writes ``<scenario>__<model>__samples.csv`` (one column per feature, x0.., plus ``class``) and
    ``<scenario>__<model>__samples.png``: generated next to real examples (an image grid for
    image families, else a scatter of the first two core features). Returns both paths. A model
    without the ``sample`` tag is a SpurbenchError naming the models that have it.
    """
    _require_sample_tag(model_name)
    model, train = fit_on_training_data(model_name, scenario, seed)
    rng = rng_for(0, scenario.content_hash(), model_name, seed, "sample")
    draws = [model.sample(n, k, rng) for k in model.classes_]
    generated = pd.DataFrame(np.vstack(draws), columns=[f"x{j}" for j in range(train.X.shape[1])])
    generated["class"] = np.repeat(model.classes_, n)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(scenario, model_name)
    csv_path, png_path = out_dir / f"{stem}__samples.csv", out_dir / f"{stem}__samples.png"
    generated.to_csv(csv_path, index=False)
    shape = get_generator(scenario.family).image_shape
    title = f"{model_name} on {scenario.name}"
    with mpl.style.context(STYLE):
        fig = (_image_figure(train, generated, shape, title) if shape
               else _scatter_figure(train, generated, title))
        fig.savefig(png_path, format="png", metadata=PNG_METADATA)
    return [csv_path, png_path]


def explain(model_name: str, scenario: Scenario, seed: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    """What the fitted model leans on: per feature, and per role as the harness measures it.

    Returns
    -------
    frame : per feature of `scenario`: feature (index), role, importance (see
        `spurbench.evaluation.importance`), share (importance / total; NaN when the total is 0).
    role_shares : role -> share of the block-permutation importance (`role_importance`); its
        "spurious" entry is the `spurious_importance` the benchmark stores for this fit.
    """
    model, train = fit_on_training_data(model_name, scenario, seed)
    task_seed = FitTask(scenario, model_name, seed=seed, n_train=len(train.y)).model_seed()
    with threadpool_limits(limits=1):
        importance = feature_importance(model, train.X, train.y, task_seed)
        blocks = role_importance(model, train.X, train.y, train.roles, task_seed)
    total, block_total = importance.sum(), sum(blocks.values())
    frame = pd.DataFrame({
        "feature": np.arange(len(importance)),
        "role": list(train.roles),
        "importance": importance,
        "share": importance / total if total > 0 else np.full(len(importance), np.nan),
    })
    return frame, {role: v / block_total if block_total > 0 else float("nan")
                   for role, v in blocks.items()}
