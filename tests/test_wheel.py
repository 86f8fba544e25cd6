"""The built wheel works on its own: installed into a fresh virtual environment, run from a folder
outside the repository, it lists its scenarios and runs one (the scenarios are package data).

The fresh environment reuses this environment's third-party packages through a path file, so
the test needs no network; spurbench itself comes only from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it (built once)."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(root / "dist")], check=True, capture_output=True, timeout=300)
    (wheel,) = (root / "dist").glob("spurbench-*.whl")
    env = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # Third-party packages from this environment; a plain path line, so the editable install's
    # finder (a .pth there) is not activated and `benchmark` can only come from the wheel.
    (Path(purelib) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    return env


def _spurbench(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([env / "bin" / "spurbench", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.slow
def test_installed_wheel_lists_and_runs_its_shipped_scenarios_outside_the_repo(wheel_env, tmp_path):
    where = subprocess.run([wheel_env / "bin" / "python", "-c",
                            "import spurbench, spurbench.harness.spec as s; "
                            "print(spurbench.__file__, s.__file__); "
                            "print(s.DATASETS_DIR)"], capture_output=True, text=True, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert all(str(wheel_env) in line for line in where.stdout.split()), where.stdout
    listed = _spurbench(wheel_env, "list", "scenarios", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "spurious_gaussian" in listed.stdout and len(listed.stdout.splitlines()) > 10
    proc = _spurbench(wheel_env, "run", "spurious_gaussian", "--quick", "--models", "gaussian_nb",
                      "--seeds", "1", "--jobs", "1", "--out", "out", "--no-report", "--no-progress",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (rows["status"] == "ok").all() and set(rows["model"]) == {"gaussian_nb"}


@pytest.mark.slow
def test_installed_wheel_ships_and_runs_the_user_table_example(wheel_env, tmp_path):
    """datasets/examples/ (tiny_loans.csv and its spec) is package data: the spec's relative path
    finds the CSV inside the installed package."""
    datasets = subprocess.run([wheel_env / "bin" / "python", "-c", "import spurbench.harness.spec as s; "
                               "print(s.DATASETS_DIR.resolve())"], capture_output=True, text=True,
                              cwd=tmp_path, check=True).stdout.strip()
    spec = Path(datasets) / "examples" / "user_table.toml"
    assert str(wheel_env) in str(spec) and (spec.parent / "tiny_loans.csv").is_file()
    proc = _spurbench(wheel_env, "run", str(spec), "--quick", "--models", "gaussian_nb", "--seeds", "1",
                      "--jobs", "1", "--out", "out", "--no-report", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (rows["status"] == "ok").all() and set(rows["family"]) == {"table:tiny_loans"}


@pytest.mark.slow
def test_a_users_own_benchmark_package_never_shadows_the_installed_spurbench(wheel_env, tmp_path):
    """The wheel's only top-level package is `spurbench`: a folder holding a decoy `benchmark/`
    package (which raises when imported) changes nothing for `import spurbench` or the command."""
    decoy = tmp_path / "benchmark"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the decoy benchmark package was imported')\n")
    (decoy / "__main__.py").write_text("raise SystemExit('the decoy ran')\n")
    code = ("import spurbench; from spurbench.interface.api import scenarios; "
            "print(spurbench.__version__, len(scenarios()))")
    imported = subprocess.run([wheel_env / "bin" / "python", "-c", code], capture_output=True, text=True,
                              cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert int(imported.stdout.split()[1]) > 10
    assert subprocess.run([wheel_env / "bin" / "python", "-m", "spurbench", "--help"], cwd=tmp_path,
                          capture_output=True, text=True).returncode == 0
    dist_info = next(Path(sysconfig_purelib(wheel_env)).glob("spurbench-*.dist-info"))
    assert (dist_info / "top_level.txt").read_text().split() == ["spurbench"]


def sysconfig_purelib(env: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([env / "bin" / "python", "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip()
