"""`bayes_network`: exact posteriors against pgmpy's exact inference, the sampler against the
network's marginals, the shift, roles, groups, validation, and loading with the network cut.

Exact checks use 1e-9 (both sides are sums of a few dozen products of table entries); marginal
checks allow 4 standard errors per state (`stat_checks`), over a few hundred states in all.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import warnings
from functools import cache

import numpy as np
import pytest
from generator_checks import assert_rejected, assert_seeded, rng
from spurbench.generators._bn import BUNDLED, _bundled_bytes, load_bundled
from spurbench.generators.bayes_network import BayesNetwork, shifted_table
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_rate

pgmpy_inference = pytest.importorskip("pgmpy.inference")
SCENARIOS = {p.stem: load_scenario(p) for p in sorted(DATASETS_DIR.glob("bn_*.toml"))}
ROWS = 30


@cache
def _pgmpy_model(network: str):
    from pgmpy.readwrite import BIFReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BIFReader(string=gzip.decompress(_bundled_bytes(network)).decode()).get_model()


def _shifted_pgmpy(gen: BayesNetwork, shift: float):
    """pgmpy's own model of the network with the shifted children's tables replaced."""
    from pgmpy.factors.discrete import TabularCPD

    model = _pgmpy_model(gen.network).copy()
    t = gen.net.index(gen.target)
    for name in gen.shifted:
        old = model.get_cpds(name)
        c = gen.net.index(name)
        values = np.moveaxis(shifted_table(gen.net, c, t, shift), -1, 0)
        model.remove_cpds(old)
        model.add_cpds(TabularCPD(name, old.cardinality[0], values.reshape(old.cardinality[0], -1),
                                  evidence=old.variables[1:], evidence_card=old.cardinality[1:],
                                  state_names=old.state_names))
    model.check_model()
    return model


def _pgmpy_posterior(gen: BayesNetwork, X: np.ndarray, shift: float, columns: np.ndarray):
    """P(target | the features in `columns`) by pgmpy's variable elimination, row by row."""
    inference = pgmpy_inference.VariableElimination(_shifted_pgmpy(gen, shift))
    names = gen.feature_names
    rows = []
    for x in X:
        evidence = {names[j]: gen.net.states[gen.net.index(names[j])][int(x[j])] for j in columns}
        factor = inference.query([gen.target], evidence=evidence, show_progress=False)
        order = [factor.state_names[gen.target].index(s)
                 for s in gen.net.states[gen.net.index(gen.target)]]
        rows.append(factor.values[order])
    return np.array(rows)


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_exact_posteriors_agree_with_pgmpy_variable_elimination(name, shift):
    gen = SCENARIOS[name].generator()
    X = gen.sample(ROWS, shift, rng(1)).X
    every = np.arange(X.shape[1])
    core = np.flatnonzero(np.asarray(gen.roles) == "core")
    np.testing.assert_allclose(gen.posterior(X, shift), _pgmpy_posterior(gen, X, shift, every),
                               atol=1e-9)
    np.testing.assert_allclose(gen.invariant_posterior(X, shift),
                               _pgmpy_posterior(gen, X, shift, core), atol=1e-9)


def test_missing_nodes_with_observed_children_are_summed_out_as_pgmpy_does():
    """NaN marks an unobserved node; LVEDVOLUME and STROKEVOLUME have observed children, so
    they are enumerated, not dropped."""
    gen = BayesNetwork("alarm", "HYPOVOLEMIA", ["LVEDVOLUME"])
    X = gen.sample(ROWS, 0.4, rng(7)).X
    hidden = [gen.feature_names.index(n) for n in ("LVEDVOLUME", "STROKEVOLUME")]
    X[:, hidden] = np.nan
    observed = np.setdiff1d(np.arange(X.shape[1]), hidden)
    np.testing.assert_allclose(gen.posterior(X, 0.4), _pgmpy_posterior(gen, X, 0.4, observed),
                               atol=1e-9)


@pytest.mark.parametrize("network", list(BUNDLED))
def test_sampler_marginals_match_the_networks_marginals(network):
    gen = BayesNetwork(network, *_first_scenario(network))
    shift = 0.6
    inference = pgmpy_inference.VariableElimination(_shifted_pgmpy(gen, shift))
    states = gen.network_at(shift).sample(20_000, rng(2))
    for i, node in enumerate(gen.net.names):
        marginal = inference.query([node], show_progress=False)
        for k, state in enumerate(gen.net.states[i]):
            expected = marginal.values[marginal.state_names[node].index(state)]
            assert_rate(states[:, i] == k, expected, f"{network} P({node} = {state})")


def _first_scenario(network: str) -> tuple[str, list[str]]:
    scenario = next(s for s in SCENARIOS.values() if s.params["network"] == network)
    return scenario.params["target"], scenario.params["shifted"]


def test_invariant_posterior_is_the_same_function_at_every_level():
    gen = SCENARIOS["bn_child_lungparench"].generator()
    X = gen.sample(2000, 0.5, rng(3)).X
    np.testing.assert_allclose(gen.invariant_posterior(X, 0.0), gen.invariant_posterior(X, 1.0),
                               atol=1e-12)
    assert not np.allclose(gen.posterior(X, 0.0), gen.posterior(X, 1.0))


def test_full_shift_reverses_the_childs_table_along_the_target():
    gen = BayesNetwork("asia", "bronc", ["dysp"])
    table = gen.network_at(1.0).tables[gen.net.index("dysp")]  # axes (bronc, either, dysp)
    np.testing.assert_array_equal(table[0], gen.net.tables[gen.net.index("dysp")][1])
    np.testing.assert_array_equal(gen.network_at(0.0).tables[gen.net.index("dysp")],
                                  gen.net.tables[gen.net.index("dysp")])


def test_roles_mark_the_shifted_children_and_their_descendants_spurious():
    gen = BayesNetwork("asia", "lung", ["either"])
    spurious = {n for n, r in zip(gen.feature_names, gen.roles, strict=True) if r == "spurious"}
    assert spurious == {"either", "xray", "dysp"}
    assert BayesNetwork("asia", "bronc").shifted == ("dysp",)  # default: every child


def test_sample_contract_groups_and_attribute():
    gen = BayesNetwork("alarm", "HYPOVOLEMIA", ["LVEDVOLUME"])
    s = gen.sample(5000, 0.0, rng(4))
    assert s.X.shape == (5000, 36) and s.X.dtype == np.float64 and s.y.dtype == np.int64
    assert np.array_equal(s.X, np.round(s.X)) and s.X.min() >= 0
    np.testing.assert_array_equal(s.group, 2 * s.y + s.attr)
    # attr = 1 when LVEDVOLUME shows the state its training table makes most likely
    c = gen.net.index("LVEDVOLUME")
    parents = gen.net.parents[c]
    table = gen.net.tables[c]
    codes = np.insert(s.X, gen.net.index("HYPOVOLEMIA"), s.y, axis=1).astype(int)
    typical = table[tuple(codes[:, p] for p in parents)].argmax(axis=1)
    np.testing.assert_array_equal(s.attr, (codes[:, c] == typical).astype(int))
    atypical_at_1 = 1 - gen.sample(5000, 1.0, rng(5)).attr.mean()
    assert atypical_at_1 > 1 - s.attr.mean() + 0.3  # the shift makes atypical rows common


def test_structure_lists_the_true_parents_by_column():
    gen = BayesNetwork("asia", "bronc", ["dysp"])
    structure = gen.structure()
    names = [*gen.feature_names, "bronc"]
    parents = {names[v]: {names[p] for p in pa} for v, pa in enumerate(structure.parents)}
    assert parents["dysp"] == {"bronc", "either"} and parents["bronc"] == {"smoke"}
    assert structure.cardinalities == (2,) * 8
    assert gen.data_family(SCENARIOS["bn_asia_bronc"].params) == "network:asia"


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(BayesNetwork("child", "LungFlow", ["ChestXray"]), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(network="cancer_x"), "network"),
    (dict(network="asia", target="nope"), "target"),
    (dict(network="asia", target="dysp"), "target"),  # a leaf: nothing to shift
    (dict(network="asia", target="bronc", shifted=["xray"]), "shifted"),
    (dict(network="asia", target="bronc", shifted="dysp"), "shifted"),
    (dict(network="asia", target="bronc", shifted=["dysp", "dysp"]), "shifted"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(BayesNetwork, params, field)


def test_every_network_has_three_scenarios():
    by_network: dict[str, int] = {}
    for scenario in SCENARIOS.values():
        by_network[scenario.params["network"]] = by_network.get(scenario.params["network"], 0) + 1
    assert by_network == dict.fromkeys(BUNDLED, 3)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_shifted_children_carry_more_than_two_points_at_training(name):
    """Bayes minus invariant accuracy at shift 0, paired on one sample, exceeds 2 points by more
    than 4 SE: every scenario's shortcut is worth taking."""
    gen = SCENARIOS[name].generator()
    s = gen.sample(20_000, 0.0, rng(6))
    gain = ((gen.posterior(s.X, 0.0).argmax(axis=1) == s.y).astype(float)
            - (gen.invariant_posterior(s.X, 0.0).argmax(axis=1) == s.y))
    assert gain.mean() - 4 * gain.std(ddof=1) / np.sqrt(len(gain)) > 0.02, gain.mean()


def test_every_network_loads_with_the_network_disabled():
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    code = ("from spurbench.generators._bn import BUNDLED, load_bundled\n"
            "print(sum(len(load_bundled(n).names) for n in BUNDLED))")
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == sum(len(load_bundled(n).names) for n in BUNDLED)


@pytest.mark.parametrize(("edit", "field"), [
    (('target = "bronc"', 'target = "Bronc"'), "params.target"),
    (('shifted = ["dysp"]', 'shifted = ["xray"]'), "params.shifted"),
    (('network = "asia"', 'network = "asia2"'), "params.network"),
])
def test_a_bad_network_spec_is_one_line_naming_the_field(tmp_path, capsys, edit, field):
    from spurbench.interface.cli import main

    spec = tmp_path / "bad.toml"
    spec.write_text((DATASETS_DIR / "bn_asia_bronc.toml").read_text().replace(*edit))
    code = main(["run", str(spec), "--out", str(tmp_path / "o"), "--no-report", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and field in err[0], err
    assert not (tmp_path / "o").exists()


def test_without_pgmpy_the_error_is_one_line_naming_the_extra(monkeypatch):
    from spurbench.errors import SpurbenchError

    monkeypatch.setitem(sys.modules, "pgmpy", None)  # `import pgmpy` now raises ImportError
    with pytest.raises(SpurbenchError, match=r'pip install "spurbench\[data\]"'):
        _bundled_bytes("asia")
