"""The repository's shape: data-only datasets/, a package that really installs, lint-clean code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_datasets_folder_holds_data_only():
    assert not list((ROOT / "datasets").rglob("*.py"))
    assert list((ROOT / "datasets").glob("*.toml"))


def test_plain_pip_install_ships_every_subpackage(tmp_path):
    """setuptools' flat-layout discovery skips a top-level `benchmark` folder; the explicit
    `packages.find` must not, and must pick up new subpackages (report/experiments) by itself."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(tmp_path / "site"), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    installed = tmp_path / "site" / "spurbench"
    for package in sorted(p.parent for p in (ROOT / "benchmark").rglob("__init__.py")):
        relative = package.relative_to(ROOT / "benchmark")
        assert (installed / relative / "__init__.py").exists(), f"{relative} was not installed"
    assert (installed / "report" / "spurbench.mplstyle").exists()
    shipped = {p.name for p in (installed / "report" / "experiments").glob("*.py")}
    assert shipped == {p.name for p in (ROOT / "benchmark" / "report" / "experiments").glob("*.py")}
    assert list((tmp_path / "site").glob("spurbench-*.dist-info"))


def test_ruff_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout


def test_every_scenario_is_described_in_the_datasets_readme():
    import tomllib

    readme = (ROOT / "datasets" / "README.md").read_text()
    for path in sorted((ROOT / "datasets").glob("*.toml")):
        name = tomllib.loads(path.read_text())["scenario"]["name"]
        assert name in readme, f"{path.name}: scenario {name!r} is not described in datasets/README.md"


def test_data_flows_one_way():
    """The report never imports the harness; generators never import models."""
    forbidden = {"report": ("spurbench.harness", "spurbench.fitting"),
                 "generators": ("spurbench.models", "spurbench.harness", "spurbench.report")}
    for folder, modules in forbidden.items():
        for path in (ROOT / "benchmark" / folder).rglob("*.py"):
            text = path.read_text()
            for module in modules:
                assert module not in text, f"{path.name} imports {module}"


def test_datasets_readme_lists_exactly_the_declared_headline_suite():
    from spurbench.spec import headline_suite_markdown, load_scenarios

    readme = (ROOT / "datasets" / "README.md").read_text()
    listed = readme.split("<!-- headline-suite:start -->\n")[1].split("\n<!-- headline-suite:end -->")[0]
    assert listed == headline_suite_markdown(load_scenarios([ROOT / "datasets"]))
