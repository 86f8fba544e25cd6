"""`write_report`: deterministic files, every section present, numbers traceable to the rows."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spurbench.report import analysis, findings, render, style, tables, write_report
from synthetic_results import synthetic_results

META = {
    "command": "spurbench run --quick", "git_commit": "0123abcd", "seeds": [0, 1, 2], "run_seed": 0,
    "scenarios": [{"name": "spurious_gaussian", "family": "gaussian_spurious", "description": "a | b",
                   "params": {"train_correlation": 0.9}, "levels": [0.0, 0.5, 1.0], "n_train": [50, 100],
                   "n_test": 500, "seeds": 3, "path": "datasets/spurious_gaussian.toml"}],
    "models": [{"name": "lda", "paradigm": "generative", "tags": ["prior_shift"], "description": "LDA"}],
    "versions": {"python": "3.11.7", "numpy": "2.4.6", "seaborn": "0.13.2"},
}


def _small_results(**overrides) -> pd.DataFrame:
    options = {"n_scenarios": 3, "n_models": 4, "seeds": 3, "n_train": (50, 100),
               "levels": (0.0, 0.5, 1.0)} | overrides
    return synthetic_results(**options)


def _write_run(run_dir: Path, frame: pd.DataFrame, pdf: bool = False) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(run_dir / "results.csv", index=False)
    (run_dir / "run.json").write_text(json.dumps(META))
    write_report(run_dir, pdf=pdf)
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return _write_run(tmp_path_factory.mktemp("a") / "run", _small_results(), pdf=True)


def test_rendering_the_same_csv_twice_gives_byte_identical_files(run, tmp_path):
    again = _write_run(tmp_path / "run", pd.read_csv(run / "results.csv"), pdf=True)
    files = sorted(p.relative_to(run) for p in run.rglob("*") if p.is_file())
    assert {p.suffix for p in files} >= {".png", ".pdf", ".csv", ".md"}
    for path in files:
        assert (run / path).read_bytes() == (again / path).read_bytes(), path


def test_every_embedded_figure_exists_as_png_and_pdf(run):
    report = (run / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", report)
    # the summary's conditions figure where the run recorded traits, else the group means first
    assert linked[0] in {"figures/conditions.png", "figures/group_summary.png"}
    assert "figures/group_summary.png" in linked
    assert {"figures/degradation_accuracy_gaussian_spurious.png", "figures/forest_drop.png"} <= set(linked)
    for link in linked:
        assert (run / link).stat().st_size > 0
        assert (run / link).with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_pdf_files_are_written_when_asked_for_and_never_left_behind_by_a_newer_figure(tmp_path):
    frame = _small_results(n_scenarios=2, n_models=2, seeds=2, n_train=(50,))
    run_dir = _write_run(tmp_path / "run", frame)
    figures = run_dir / "figures"
    assert list(figures.glob("*.png")) and not list(figures.glob("*.pdf"))
    _write_run(run_dir, frame, pdf=True)
    assert {p.stem for p in figures.glob("*.pdf")} == {p.stem for p in figures.glob("*.png")}
    _write_run(run_dir, frame.assign(accuracy=frame["accuracy"] * 0.99))  # every figure redrawn
    assert list(figures.glob("*.png")) and not list(figures.glob("*.pdf"))


def test_one_scenario_families_share_a_figure_in_natural_order_and_a_large_family_has_its_own():
    from spurbench.report.gallery import MAX_PANELS, family_pages

    scenarios = [("big", f"b{i}") for i in range(MAX_PANELS + 1)] + [
        (f"small{i}", f"s{i}") for i in range(MAX_PANELS + 2)]
    frame = pd.DataFrame(scenarios, columns=["family", "scenario"])
    pages = family_pages(frame)
    assert pages[0] == ["big"]
    assert [len(page) for page in pages[1:]] == [MAX_PANELS, 2]
    order = [family for page in pages for family in page]
    assert order == sorted(frame["family"].unique(), key=style.natural_key)
    assert order.index("small2") < order.index("small10")  # numbers sort as numbers


def test_report_records_configuration_versions_and_commit(run):
    report = (run / "report.md").read_text()
    for text in ("0123abcd", "spurbench run --quick", "| seaborn | 0.13.2 |", "| python | 3.11.7 |",
                 "train_correlation=0.9", "a \\| b", "| lda | generative |"):
        assert text in report


def test_every_markdown_table_is_also_a_csv(run):
    report = (run / "report.md").read_text()
    for name in re.findall(r"CSV: `tables/(\w+)\.csv`", report):
        assert (run / "tables" / f"{name}.csv").exists()
    assert len(list((run / "tables").glob("*.csv"))) >= 5


def test_accuracy_table_matches_the_rows(run):
    rows = pd.read_csv(run / "results.csv")
    rows = rows[(rows["status"] == "ok") & (rows["n_train"] == 100)
                & (rows["model"] == "logistic_regression")]
    per_scenario = rows.pivot_table(index="scenario", columns="shift", values="accuracy", aggfunc="mean")
    table = pd.read_csv(run / "tables" / "model_accuracy.csv").set_index("model")
    # tables hold 6 significant digits (`reproducible`): within 5e-6 of the value
    assert table.loc["logistic_regression", "accuracy_shift0"] == pytest.approx(per_scenario[0.0].mean(),
                                                                                 rel=1e-5)
    assert table.loc["logistic_regression", "accuracy_drop"] == pytest.approx(
        (per_scenario[0.0] - per_scenario[1.0]).mean(), rel=1e-5)
    assert "| logistic_regression | discriminative | 3 |" in (run / "report.md").read_text()


def test_failed_fits_are_counted_in_the_report(run):
    rows = pd.read_csv(run / "results.csv")
    n_fits = len(rows.drop_duplicates(["scenario", "model", "seed", "n_train"]))
    assert f"2 of {n_fits} fits failed" in (run / "report.md").read_text()
    assert pd.read_csv(run / "tables" / "failures.csv")["failed_fits"].sum() == 2


def test_figures_the_data_cannot_support_are_skipped_and_reported(tmp_path):
    run_dir = _write_run(tmp_path / "run", _small_results(n_scenarios=2, n_models=2, seeds=2, n_train=(50,)))
    report = (run_dir / "report.md").read_text()
    assert "`learning_curves_id` skipped: every scenario has a single n_train" in report
    assert not (run_dir / "figures" / "learning_curves_id.png").exists()
    assert (run_dir / "figures" / "degradation_accuracy_gaussian_spurious.png").exists()


def test_effect_lines_call_clear_only_what_survives_and_state_power_otherwise():
    base = {"metric": "drop", "selection": "panel", "flagged": "excluded",
            "method": "t-interval over family means", "n_families": 5, "n_scenarios": 9, "n_units": 90,
            "lofo_low": 0.015, "lofo_high": 0.025}
    effects = pd.DataFrame([
        {**base, "contrast": "discriminative - generative", "estimate": 0.02, "ci_low": 0.01, "ci_high": 0.03,
         "p_value": 1e-6, "clusters": 5},
        {**base, "contrast": "mlp - kde_classifier", "estimate": 0.01, "ci_low": -0.01, "ci_high": 0.03,
         "p_value": 0.3, "clusters": 5},
        {**base, "contrast": "mlp - gmm_classifier", "estimate": 0.05, "ci_low": 0.04, "ci_high": 0.06,
         "p_value": 1e-9, "clusters": 2},
    ])
    text = "\n".join(findings.effect_lines(effects))
    assert "+2.00 points (95% CI +1.00 to +3.00" in text
    assert "clearly (primary), `discriminative` drops more; the design detects" in text
    assert "leaving one family out +1.50 to +2.50" in text
    # the pair is secondary: se = 0.02 / t(0.975, 4) = 0.0072; at alpha 0.05 (one secondary claim)
    # the design resolves (2.776 + 0.941) * 0.0072 = 2.7 points
    assert "no clear difference; the design detects 2.7 points with 80% power at the secondary level" in text
    assert "not clear (fewer than 3 independent units, never called clear)" in text


def test_header_states_seeds_per_scenario_and_pre_registration_before_any_number(run):
    report = (run / "report.md").read_text()
    assert "Seeds per scenario (from the rows): 3 seeds: 3 scenario(s)." in report
    first_number = re.search(r"\d+ result rows", report).start()
    assert report.index("Pre-registered comparisons") < first_number
    assert "Holm-corrected within its level" in report
    assert "(issue" not in report and "(issue" not in (run / "experiments.md").read_text()


def test_fewer_than_three_seeds_put_a_warning_in_place_of_interval_claims():
    frame = _small_results(seeds=2, n_train=(100,))
    lines = render.seeds_line(frame)
    assert lines[0] == "Seeds per scenario (from the rows): 2 seeds: 3 scenario(s)."
    assert lines[1].startswith("**Warning**: 3 scenario(s) have fewer than 3 seeds")
    effects = analysis.effects(frame)
    assert (effects["clusters"] < 3).any()
    assert "clearly," not in "\n".join(findings.effect_lines(effects[effects["clusters"] < 3]))


def test_test_set_adapted_variants_are_named_so_in_tables(tmp_path):
    frame = _small_results(n_scenarios=7, n_models=1)  # the seventh scenario is label_shift: gaussian_nb+em
    table = tables.model_accuracy(frame)
    assert "gaussian_nb+em (test-set-adapted)" in set(table["model"])
    assert {"majority_accuracy_largest_shift", "bayes_accuracy_largest_shift",
            "balanced_accuracy_largest_shift"} <= set(table.columns)


def test_markdown_table_formats_missing_values_pipes_and_p_values():
    frame = pd.DataFrame({"name": ["a|b"], "value": [np.nan], "p_holm": [0.000123]})
    assert render.markdown_table(frame).splitlines()[-1] == "| a\\|b | – | 0.00012 |"


def test_paradigm_sets_the_colour_family_and_line_style():
    models = ["gaussian_nb", "lda", "mlp", "bayes_oracle"]
    look = style.model_styles(models, {"gaussian_nb": "generative", "lda": "generative",
                                       "mlp": "discriminative", "bayes_oracle": "oracle"})
    red, green, blue, _ = look["palette"]["lda"]
    assert blue > red
    red, green, blue, _ = look["palette"]["mlp"]
    assert red > blue
    red, green, blue, _ = look["palette"]["bayes_oracle"]
    assert red == green == blue
    assert look["palette"]["gaussian_nb"] != look["palette"]["lda"]
    assert look["dashes"]["gaussian_nb"] == look["dashes"]["lda"] != look["dashes"]["mlp"]


def test_group_summary_bands_of_two_seeds_stay_within_what_an_accuracy_can_be():
    from spurbench.report import summaries

    # Two seeds at accuracy 0.2 and 0.9: mean 0.55, t(0.975, 1) * 0.495 / sqrt(2) = 4.45 half-width,
    # a band from -3.9 to 5.0 unclipped; clipped to [0, 1]. A drop band is not clipped.
    rows = pd.DataFrame({"family": "f", "scenario": "s", "seed": [0, 1], "shift": 0.5,
                         "group": "linear_discriminative", "accuracy": [0.2, 0.9], "drop": [-0.3, 0.4]})
    curves = summaries._family_curves(rows, "group", "accuracy")
    assert curves[["low", "high"]].values.tolist() == [[0.0, 1.0]]
    drops = summaries._family_curves(rows, "group", "drop")
    assert drops["low"].item() < -1 and drops["high"].item() > 1


def test_headline_reads_the_primary_lines_as_findings_writes_them(tmp_path):
    # two primary lines written by `findings.effect_lines` (the same code as report.md's Summary)
    effects = pd.DataFrame({
        "contrast": analysis.PARADIGM.name, "selection": "panel", "flagged": "excluded",
        "metric": ["drop", "accuracy_largest_shift"], "estimate": [-0.0102, 0.0228],
        "ci_low": [-0.0228, 0.0058], "ci_high": [0.0024, 0.0398], "method": analysis.FAMILY_T,
        "n_scenarios": 99, "n_families": 36, "lofo_low": [-0.0121, 0.0184], "lofo_high": [-0.0067, 0.0249],
        "clusters": 36, "p_value": [0.11, 1e-6]})
    bullets = [line.removeprefix("  ") for line in findings.effect_lines(effects)[1:]]
    report = tmp_path / "report.md"
    report.write_text("\n".join(["# r", "", "## Summary", "", "**Answer**:", "", *bullets, "",
                                 "## Design", "", "- drop: +9.00 points (95% CI +8 to +10; 5 scenarios in 5 "
                                 "families): x"]))
    assert findings.headline(report) == [
        "headline (discriminative minus generative, panel fits; 99 scenarios in 36 families):",
        "  drop: -1.02 points (95% CI -2.28 to +0.24): no clear difference",
        "  accuracy at the largest shift: +2.28 points (95% CI +0.58 to +3.98): clearly (primary), "
        "discriminative is more accurate"]
    report.write_text("# r\n\n## Summary\n\nNothing to estimate.\n")
    assert findings.headline(report)[0].startswith("headline: no primary estimate")


def test_report_command_ends_on_the_headline_and_the_path_of_report_html(run, tmp_path, capsys):
    from spurbench.interface.cli import main

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    assert main(["report", str(copy)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == f"report: {copy / 'report.html'} (and report.md beside it)"
    # this run's two families give no primary estimate; the lines are headline()'s either way
    assert printed[:-1] == findings.headline(copy / "report.md") and len(printed) <= 5
    assert 'id="summary"' in (copy / "report.html").read_text()
