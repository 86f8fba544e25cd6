"""Figures drawn on worker processes are the serial render's bytes, and a figure whose rows and
code did not change is not drawn again."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from spurbench.report import drawing, write_report
from synthetic_results import synthetic_results

META = {"command": "spurbench run", "git_commit": "abc", "seeds": 2}


def _run(run_dir: Path, frame: pd.DataFrame) -> Path:
    run_dir.mkdir(parents=True)
    frame.to_csv(run_dir / "results.csv", index=False)
    (run_dir / "run.json").write_text(json.dumps(META))
    return run_dir


def _small() -> pd.DataFrame:
    return synthetic_results(n_scenarios=2, n_models=3, seeds=2, n_train=(50,), levels=(0.0, 1.0))


def _figures(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "figures").iterdir())}


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "loky"])
def test_figures_drawn_on_workers_are_byte_identical_to_a_serial_render(tmp_path, monkeypatch, fork):
    frame = _small()
    monkeypatch.setattr(drawing, "_can_fork", lambda: fork)
    write_report(_run(tmp_path / "workers", frame))
    monkeypatch.setenv(drawing.JOBS_VARIABLE, "1")
    write_report(_run(tmp_path / "serial", frame))
    parallel, serial = _figures(tmp_path / "workers"), _figures(tmp_path / "serial")
    assert parallel and parallel.keys() == serial.keys()
    assert [name for name in parallel if parallel[name] != serial[name]] == []


def test_a_figure_is_drawn_again_only_when_what_it_is_drawn_from_changed(tmp_path, monkeypatch):
    monkeypatch.setenv(drawing.JOBS_VARIABLE, "1")
    frame = _small()
    run = _run(tmp_path / "run", frame)
    write_report(run)
    first = {p.name: p.stat().st_mtime_ns for p in (run / "figures").iterdir()}
    write_report(run)  # same rows, same code: every figure is current
    assert {p.name: p.stat().st_mtime_ns for p in (run / "figures").iterdir()} == first
    (run / "figures" / "forest_drop.png").unlink()  # a missing file is drawn again
    changed = frame.assign(accuracy=frame["accuracy"] * 0.99)  # new rows: every figure redrawn
    changed.to_csv(run / "results.csv", index=False)
    write_report(run)
    again = {p.name: p.stat().st_mtime_ns for p in (run / "figures").iterdir()}
    assert again.keys() == first.keys()
    assert [name for name in first if again[name] == first[name]] == []


def test_a_figure_saved_with_its_bounding_box_measured_once_is_savefigs_tight_crop(tmp_path):
    # style.save measures the tight box once for every format instead of letting savefig draw the
    # figure an extra time per format: the pixels must be those of bbox_inches="tight".
    import matplotlib.pyplot as plt
    import numpy as np
    from spurbench.report import group_figures, style

    frame = synthetic_results(n_scenarios=3, n_models=4, seeds=3, n_train=(50,), levels=(0.0, 0.5, 1.0))
    with plt.style.context(style.STYLE):
        fig = group_figures.degradation_accuracy(frame)
        fig.savefig(tmp_path / "tight.png", bbox_inches="tight")
        (path,) = style.save(fig, tmp_path, "measured", ("png",))
    tight, measured = (plt.imread(p) for p in (tmp_path / "tight.png", path))
    assert tight.shape == measured.shape
    assert np.array_equal(tight, measured)


@pytest.mark.parametrize("values", [(1000.0001, 1000.0002), (2e-8, 5e-8), (0.9991, 0.9999)],
                         ids=["offset", "tiny", "clustered"])
def test_titles_sit_where_automatic_placement_puts_them_and_no_axis_draws_an_offset(tmp_path, values):
    # The style fixes every title at the top of its axes (automatic placement re-measures the tick
    # labels at every layout pass) and turns offsets and scientific notation off, the only thing
    # that would have moved a title: on values that would draw one, the pixels are automatic's.
    import matplotlib.pyplot as plt
    import numpy as np
    from spurbench.report import style

    def draw(name: str, overrides: dict) -> np.ndarray:
        with plt.style.context([style.STYLE, overrides]):
            fig, axes = plt.subplots(1, 2, figsize=(3, 2))
            for ax in axes:
                ax.plot([0, 1], values)
                ax.set_title("a title as wide as its panel")
            fig.tight_layout()
            assert not any(ax.yaxis.get_offset_text().get_text() for ax in axes)
            (path,) = style.save(fig, tmp_path, name, ("png",))
        return plt.imread(path)

    assert np.array_equal(draw("fixed", {}), draw("automatic", {"axes.titley": None}))


def _line(height: float):
    """A builder of a one-line figure (picklable: a partial of a module-level function)."""
    from functools import partial

    return partial(_draw_line, height)


def _draw_line(height: float):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, height])
    return fig


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "loky"])
def test_a_figure_submitted_twice_is_drawn_once_unless_its_builder_changed(tmp_path, monkeypatch, fork):
    # The report's first pass starts the experiments' figures; the second submits them again,
    # and only a figure whose builder changed in between (it reads the adjusted decisions) is
    # drawn again: the first drawing is cancelled while it waits in the queue (behind the other
    # figures here), or finished first when it has started.
    monkeypatch.setattr(drawing, "_can_fork", lambda: fork)
    with drawing.Drawer(jobs=2) as drawer:
        ahead = [drawer.submit(_line(float(k)), tmp_path, f"ahead{k}") for k in range(8)]
        first = drawer.submit(_line(1.0), tmp_path, "line")
        assert drawer.submit(_line(1.0), tmp_path, "line") is first
        changed = drawer.submit(_line(2.0), tmp_path, "line")
        assert changed is not first and first.done()
        assert changed.result() is None and all(f.result() is None for f in ahead)
    with drawing.Drawer(jobs=1) as serial:
        serial.submit(_line(2.0), tmp_path / "serial", "line").result()
    assert (tmp_path / "line.png").read_bytes() == (tmp_path / "serial" / "line.png").read_bytes()
