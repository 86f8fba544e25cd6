"""Every figure the report makes reads at page width: no two drawn texts overlap (titles, axis
and tick labels, legend texts, annotations; within `figure_checks.TOLERANCE_PX`) and no legend is
larger than the panels it labels. Checked on each figure as the report saves it, for a small
real quick run made here and for the committed paper rows (results/paper)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from figure_checks import collisions
from spurbench.interface.cli import main
from spurbench.report import drawing, style, write_report
from synthetic_results import synthetic_results

PAPER = Path(__file__).resolve().parent.parent / "results" / "paper"
# A cheap panel with a model of each group (two of one): what the group means and best models draw.
QUICK_MODELS = "gaussian_nb,lda_shrinkage,gmm_classifier,logistic_regression,hist_gradient_boosting"


def _checked_report(run: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Write `run`'s report with every figure checked just before it is saved; per figure file,
    what collides in it. The check travels to the forked drawing workers with the patched
    `style.save` and reports back through one JSON file per figure."""
    found = run / "collisions"
    found.mkdir()
    save = style.save

    def checked_save(fig: plt.Figure, out_dir: Path, name: str, formats: tuple[str, ...] = ()) -> list[Path]:
        with plt.style.context(style.STYLE):  # as `style.save` draws it
            (found / f"{name}.json").write_text(json.dumps(collisions(fig)))
        return save(fig, out_dir, name, formats)

    monkeypatch.setattr(style, "save", checked_save)
    monkeypatch.setattr(drawing, "_can_fork", lambda: True)  # the patch reaches forked workers only
    write_report(run)
    return {path.stem: json.loads(path.read_text()) for path in sorted(found.glob("*.json"))}


def _assert_legible(problems: dict[str, list[str]], run: Path) -> None:
    saved = {path.stem for path in (run / "figures").glob("*.png")}
    assert saved and set(problems) == saved, "a saved figure went unchecked"
    bad = {name: found[:3] for name, found in problems.items() if found}
    assert bad == {}, f"{len(bad)} of {len(problems)} figures have colliding texts or legends: {bad}"


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("legible") / "quick"
    assert main(["run", "--quick", "--seeds", "2", "--models", QUICK_MODELS, "--out", str(out),
                 "--no-report", "--no-progress"]) == 0
    return out


def test_no_text_overlaps_and_no_legend_outgrows_its_panels_in_a_quick_runs_figures(
        quick_run, monkeypatch):
    _assert_legible(_checked_report(quick_run, monkeypatch), quick_run)


def test_no_text_overlaps_and_no_legend_outgrows_its_panels_in_the_paper_figures(tmp_path, monkeypatch):
    run = tmp_path / PAPER.name
    run.mkdir()
    for name in ("results.parquet", "run.json"):
        shutil.copy(PAPER / name, run / name)
    _assert_legible(_checked_report(run, monkeypatch), run)


def test_overprinted_titles_and_a_legend_taller_than_its_panels_are_found():
    # What the paper's effective_robustness figure had: neighbouring panels whose long titles run
    # into each other, under a legend of dozens of entries beside a short grid.
    with plt.style.context(style.STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(4, 2))
        for ax in axes:
            ax.set_title("exp_phase_core10_spur010_noise000")
            ax.plot([0, 1], [0, 1], label="a model")
        fig.tight_layout()
        fig.legend([axes[0].lines[0]] * 40, [f"model {i}" for i in range(40)], loc="center left",
                   bbox_to_anchor=(1.0, 0.5))
        found = collisions(fig)
    plt.close(fig)
    assert "'exp_phase_core10_spur010_noise000' overlaps 'exp_phase_core10_spur010_noise000'" in found
    assert any(problem.startswith("legend") for problem in found)


def test_rotated_tick_labels_that_do_not_touch_pass_though_their_boxes_overlap():
    # Labels at 45 degrees: their axis-aligned boxes overlap, the turned rectangles do not; the
    # same labels horizontal on a narrow axis overprint.
    def found(rotation: float, width: float) -> list[str]:
        with plt.style.context(style.STYLE):
            fig, ax = plt.subplots(figsize=(width, 2))
            ax.set_xticks(range(6), [f"scenario_number_{i}" for i in range(6)], rotation=rotation,
                          ha="right" if rotation else "center", rotation_mode="anchor")
            fig.tight_layout()
            problems = collisions(fig)
        plt.close(fig)
        return problems

    assert found(45, 4) == []
    assert found(0, 4) != []


def test_panels_sort_numbers_as_numbers_and_models_by_group_in_the_registrys_panel_order():
    import pandas as pd
    from spurbench.registry import GROUPS, PANEL
    from spurbench.report.figures import grouped_models, natural_scenarios

    names = ["exp_groups_noise1000", "exp_groups_noise200", "exp_groups_noise050", "exp_groups_noise000"]
    frame = pd.DataFrame({"family": ["group_shift"] * 4 + ["binary_spurious"], "scenario": [*names, "z"]})
    assert natural_scenarios(frame) == ["z", "exp_groups_noise000", "exp_groups_noise050",
                                        "exp_groups_noise200", "exp_groups_noise1000"]
    rows = synthetic_results(n_scenarios=1, n_models=16, seeds=1, n_train=(50,), levels=(0.0, 1.0))
    order = grouped_models(rows)
    group_of = dict(rows[["model", "group"]].drop_duplicates().itertuples(index=False))
    ranks = [GROUPS.index(group_of[m]) if group_of[m] in GROUPS else len(GROUPS) for m in order]
    assert ranks == sorted(ranks)  # by group, oracles last
    for group in GROUPS:  # within a group, the panel in the registry's order, then the others
        members = [m for m in order if group_of[m] == group]
        panel = [m for m in members if m in PANEL]
        assert members[:len(panel)] == sorted(panel, key=PANEL.index)


@pytest.mark.parametrize("text", ["exp_phase_core10_spur010_noise000", "bn_win95pts_prntraccptstrtyp",
                                  "table:health_insurance (2\u00a0scenarios)", "short"])
def test_a_wrapped_title_keeps_every_character_and_each_line_fits(text):
    # 1.3 inches at 9 points hold int(1.3 * 72 / (0.62 * 9)) = 16 characters; no part of these
    # titles between breaks ("_", ":", " ") is longer, so every line fits.
    lines = style.wrapped(text, 1.3).split("\n")
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(len(line) <= 16 for line in lines)
    assert len(lines) == -(-len(text) // 16) or len(lines) == -(-len(text) // 16) + 1


def test_a_shift_panel_draws_the_group_means_and_best_models_not_every_model():
    # 16 models (12 of the panel) in each panel: four group means, four best models and the three
    # reference lines (Bayes, invariant, majority) are 11 lines; the legend names 8 entries.
    from spurbench.report.group_figures import degradation_accuracy

    rows = synthetic_results(n_scenarios=2, n_models=16, seeds=3, n_train=(50,), levels=(0.0, 0.5, 1.0))
    with plt.style.context(style.STYLE):
        fig = degradation_accuracy(rows)
    drawn = [ax for ax in fig.axes if ax.get_visible()]
    assert len(drawn) == 2
    assert all(len(ax.get_lines()) <= 11 for ax in drawn)
    assert all(ax.get_ylim() == (0, 1) for ax in drawn)
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 8
    plt.close(fig)


def test_a_per_family_figure_is_named_only_after_families_where_its_metric_was_measured():
    from spurbench.report.gallery import plans

    rows = synthetic_results(n_scenarios=15, n_models=4, seeds=2, n_train=(50,), levels=(0.0, 1.0))
    unmeasured = {"label_shift", "noise_shift"}  # no counterfactual: no spurious flip rate
    assert rows.loc[rows["family"].isin(unmeasured), "spurious_reliance"].isna().all()
    reliance = [plan for plan in plans(rows) if plan.name.startswith("spurious_reliance")]
    assert reliance
    for plan in reliance:
        assert not set(plan.rows["family"]) & unmeasured
        assert not any(family in plan.name for family in unmeasured)
