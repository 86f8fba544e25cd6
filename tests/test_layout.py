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


# The package's layers, lowest first (each package's docstring says the same): a module may import
# its own layer and those below it, never one above, so data flow one way. A package counts by its
# folder, a top-level module by its name; the package's own `__init__` is the public API's front.
LAYERS = (("errors", "registry"), ("evaluation",), ("generators",), ("models",), ("harness",),
          ("report",), ("interface", "__main__", "__init__"))
# Imports that run upward on purpose, each with its reason: the registry imports the built-in
# packages on first lookup so that they register themselves (nothing of theirs is named).
EXCEPTIONS = {"registry.py": ("spurbench.generators", "spurbench.models")}
# The report stands on stored rows: of the harness, it reads only the store and fitkey's versions,
# never the code that runs fits.
REPORT_READS = ("spurbench.harness.store", "spurbench.harness.fitkey")


def _layer(name: str) -> int | None:
    """The index in LAYERS of a top-level module or package name; None when in no layer."""
    return next((i for i, names in enumerate(LAYERS) if name in names), None)


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
    """`file imports module` for every import that runs against `LAYERS` or `REPORT_READS`, and
    `file is in no layer` for a module or package that LAYERS does not place."""
    found = []
    for path in sorted(package_root.rglob("*.py")):
        relative = path.relative_to(package_root)
        where = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if _layer(where) is None:
            found.append(f"{relative} is in no layer")
            continue
        allowed = EXCEPTIONS.get(relative.as_posix(), ())
        for name in sorted(imported_modules(path, package_root)):
            parts = name.split(".")
            if parts[0] != "spurbench" or len(parts) == 1 or parts[1] == "__version__" or name in allowed:
                continue
            target = _layer(parts[1])
            upward = target is None or target > _layer(where)
            reads_the_harness = (where == "report" and parts[1] == "harness"
                                 and not any(name == m or name.startswith(f"{m}.") for m in REPORT_READS))
            if upward or reads_the_harness:
                found.append(f"{relative} imports {name}")
    return found


def test_data_flows_one_way():
    """Every module imports only its own layer and those below; the report reads no fit code."""
    assert import_violations(ROOT / "benchmark") == []


def test_the_import_check_catches_every_form_of_an_upward_import_and_no_mere_mention(tmp_path):
    root = tmp_path / "benchmark"
    for folder in ("report/experiments", "generators", "evaluation", "harness"):
        (root / folder).mkdir(parents=True)
    (root / "report" / "clean.py").write_text(
        '"""Reads what spurbench.harness.grid stored, never spurbench.interface.api itself."""\n'
        'NOTE = "spurbench.harness.grid"\nfrom spurbench.report import prepare\n'
        "from spurbench.harness.store import read_results\nfrom spurbench import __version__\n")
    (root / "report" / "experiments" / "lazy.py").write_text(
        "def f():\n    from ... import harness\n    from spurbench.harness import fitting\n"
        "    from ...interface import api\n")
    (root / "generators" / "direct.py").write_text(
        "import spurbench.models.oracle as o\nimport importlib\n"
        "m = importlib.import_module('spurbench.report.prepare')\nfrom spurbench.evaluation import scaling\n")
    (root / "evaluation" / "seeded.py").write_text("from spurbench.harness.seeding import rng_for\n")
    (root / "harness" / "plan.py").write_text(
        "from spurbench.models import oracle\nfrom spurbench import errors\n")
    (root / "registry.py").write_text("import importlib\nimportlib.import_module('spurbench.models')\n")
    (root / "plotting.py").write_text("")
    assert import_violations(root) == [
        "evaluation/seeded.py imports spurbench.harness.seeding",
        "evaluation/seeded.py imports spurbench.harness.seeding.rng_for",
        "generators/direct.py imports spurbench.models.oracle",
        "generators/direct.py imports spurbench.report.prepare",
        "plotting.py is in no layer",
        "report/experiments/lazy.py imports spurbench.harness",
        "report/experiments/lazy.py imports spurbench.harness.fitting",
        "report/experiments/lazy.py imports spurbench.interface",
        "report/experiments/lazy.py imports spurbench.interface.api",
    ]


def test_datasets_readme_lists_exactly_the_declared_headline_suite():
    from spurbench.harness.spec import headline_suite_markdown, load_scenarios

    readme = (ROOT / "datasets" / "README.md").read_text()
    listed = readme.split("<!-- headline-suite:start -->\n")[1].split("\n<!-- headline-suite:end -->")[0]
    assert listed == headline_suite_markdown(load_scenarios([ROOT / "datasets"]))
