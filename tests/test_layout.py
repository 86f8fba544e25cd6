"""The repository's shape: data-only datasets/, a package that really installs, lint-clean code."""

from __future__ import annotations

import ast
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
    # the generated families block lists every scenario's name; a description is written prose
    prose = readme.split("<!-- families:start -->")[0] + readme.split("<!-- families:end -->")[1]
    for path in sorted((ROOT / "datasets").glob("*.toml")):
        name = tomllib.loads(path.read_text())["scenario"]["name"]
        assert name in prose, f"{path.name}: scenario {name!r} is not described in datasets/README.md"


# Which modules each folder of the package must never import (the one-way data flow).
FORBIDDEN = {"report": ("spurbench.harness", "spurbench.fitting"),
             "generators": ("spurbench.models", "spurbench.harness", "spurbench.report")}


def imported_modules(path: Path, package_root: Path) -> set[str]:
    """The absolute names of every module the file at `path` imports, read with `ast`.

    Imports inside functions count; `from a import b` yields both `a` and `a.b` (b may be a
    submodule); relative imports are resolved against the file's place under `package_root`
    (the `benchmark/` folder, imported as `spurbench`); `importlib.import_module("...")` with a
    literal name counts too. Text that merely names a module (a docstring, a string) does not.
    """
    parts = ("spurbench", *path.relative_to(package_root).with_suffix("").parts)
    package = parts[:-1]  # a module's package; for `__init__`, the package itself
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, *([node.module] if node.module else [])))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def import_violations(package_root: Path) -> list[str]:
    """`file imports module` for every import that runs against `FORBIDDEN`."""
    found = []
    for folder, modules in FORBIDDEN.items():
        for path in sorted((package_root / folder).rglob("*.py")):
            for name in sorted(imported_modules(path, package_root)):
                if any(name == m or name.startswith(f"{m}.") for m in modules):
                    found.append(f"{path.relative_to(package_root)} imports {name}")
    return found


def test_data_flows_one_way():
    """The report never imports the harness; generators never import models."""
    assert import_violations(ROOT / "benchmark") == []


def test_the_import_check_catches_every_form_of_a_forbidden_import_and_no_mere_mention(tmp_path):
    root = tmp_path / "benchmark"
    (root / "report" / "experiments").mkdir(parents=True)
    (root / "generators").mkdir()
    (root / "report" / "clean.py").write_text(
        '"""Reads what spurbench.harness stored, never spurbench.fitting itself."""\n'
        'NOTE = "spurbench.harness"\nfrom spurbench.report import prepare\n')
    (root / "report" / "experiments" / "lazy.py").write_text(
        "def f():\n    from ... import harness\n    from spurbench import fitting\n")
    (root / "generators" / "direct.py").write_text(
        "import spurbench.models.oracle as o\nimport importlib\n"
        "m = importlib.import_module('spurbench.report.prepare')\n")
    assert import_violations(root) == [
        "report/experiments/lazy.py imports spurbench.fitting",
        "report/experiments/lazy.py imports spurbench.harness",
        "generators/direct.py imports spurbench.models.oracle",
        "generators/direct.py imports spurbench.report.prepare",
    ]


def test_datasets_readme_lists_exactly_the_declared_headline_suite():
    from spurbench.spec import headline_suite_markdown, load_scenarios

    readme = (ROOT / "datasets" / "README.md").read_text()
    listed = readme.split("<!-- headline-suite:start -->\n")[1].split("\n<!-- headline-suite:end -->")[0]
    assert listed == headline_suite_markdown(load_scenarios([ROOT / "datasets"]))
