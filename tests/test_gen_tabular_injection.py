"""`tabular_injection` and the real-data machinery it shares with `patched_digits` (`_real`).

Statistical checks allow 4 standard errors: a correct generator fails one of them with
probability below 1e-4, while a wrong mapping (e.g. rho off by 0.05 at n = 4000, ~10 SE) fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets
from spurbench.errors import ParameterError
from spurbench.generators._real import _allocate
from spurbench.generators.base import agreement
from spurbench.generators.tabular_injection import TabularInjection
from spurbench.harness.spec import DATASETS_DIR, load_scenario

RAW = {"breast_cancer": datasets.load_breast_cancer(return_X_y=True),
       "wine": datasets.load_wine(return_X_y=True)}
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
SE_TOLERANCE = 4.0


def row_set(X: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(X)}


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
@pytest.mark.parametrize("shift", LEVELS)
def test_realised_agreement_is_within_4_se_of_rho(dataset, shift):
    gen = TabularInjection(dataset=dataset, train_correlation=0.9)
    n = 4000
    s = gen.sample(n, shift, np.random.default_rng(7), split="test")
    rho = gen.agreement(shift)
    se = np.sqrt(rho * (1 - rho) / n)
    assert abs(np.mean(s.attr == s.y) - rho) <= SE_TOLERANCE * se


def test_disagreeing_attribute_is_uniform_over_the_other_classes():
    gen = TabularInjection(dataset="wine", train_correlation=0.2)
    s = gen.sample(6000, 0.0, np.random.default_rng(3))
    off = s.attr[s.attr != s.y] - s.y[s.attr != s.y]
    se = np.sqrt(0.25 / len(off))
    assert abs(np.mean(off % 3 == 1) - 0.5) <= SE_TOLERANCE * se


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_spurious_block_mean_is_set_by_the_attribute(dataset):
    gen = TabularInjection(dataset=dataset, n_spurious=2, spurious_separation=3.0)
    s = gen.sample(6000, 0.5, np.random.default_rng(11))
    block = s.X[:, np.asarray(s.roles) == "spurious"]
    for a in range(gen.n_classes):
        rows = block[s.attr == a]
        expected = (a - (gen.n_classes - 1) / 2) * 3.0 / np.sqrt(2)
        assert np.all(np.abs(rows.mean(axis=0) - expected) <= SE_TOLERANCE / np.sqrt(len(rows)))


@pytest.mark.parametrize(("dataset", "n_features", "n_classes"), [("breast_cancer", 30, 2), ("wine", 13, 3)])
def test_roles_shapes_and_dtypes(dataset, n_features, n_classes):
    gen = TabularInjection(dataset=dataset, n_spurious=3)
    s = gen.sample(50, 0.3, np.random.default_rng(0))
    assert s.X.shape == (50, n_features + 3) and s.X.dtype == np.float64
    assert s.roles == ("core",) * n_features + ("spurious",) * 3
    assert s.y.dtype == np.int64 and set(np.unique(s.y)) == set(range(n_classes))
    assert s.attr.shape == (50,) and np.array_equal(s.group, n_classes * s.y + s.attr)
    assert s.X_counterfactual.shape == s.X.shape


def test_without_spurious_columns_it_is_the_plain_table():
    gen = TabularInjection(dataset="wine", n_spurious=0)
    s = gen.sample(40, 0.0, np.random.default_rng(0))
    assert s.roles == ("core",) * 13
    assert s.attr is None and s.group is None and s.X_counterfactual is None
    assert row_set(s.X) <= row_set(RAW["wine"][0])


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_train_validation_and_test_pools_are_disjoint_and_cover_the_table(dataset):
    gen = TabularInjection(dataset=dataset, n_spurious=0)
    rng = np.random.default_rng(5)
    drawn = {split: row_set(gen.sample(gen.pool.size(split), 0.0, rng, split=split).X)
             for split in ("train", "validation", "test")}
    assert {split: len(rows) for split, rows in drawn.items()} == {
        split: gen.pool.size(split) for split in drawn}  # a whole pool, no row twice
    assert not drawn["train"] & drawn["validation"] and not drawn["train"] & drawn["test"]
    assert not drawn["validation"] & drawn["test"]
    assert drawn["train"] | drawn["validation"] | drawn["test"] == row_set(RAW[dataset][0])
    assert gen.validation_size(10_000) == gen.pool.size("validation")


def test_draws_repeat_rows_only_beyond_the_pool_size():
    gen = TabularInjection(dataset="breast_cancer", n_spurious=0)
    rng = np.random.default_rng(2)
    size = gen.pool.size("train")
    train_rows = row_set(gen.sample(size, 0.0, rng).X)
    below = gen.sample(size - 1, 0.0, rng).X
    beyond = gen.sample(2 * size, 0.0, rng).X
    assert len(row_set(below)) == size - 1
    assert len(row_set(beyond)) < 2 * size and row_set(beyond) <= train_rows


def test_a_draw_as_small_as_the_number_of_classes_holds_every_class():
    gen = TabularInjection(dataset="wine")
    for seed in range(20):
        assert sorted(gen.sample(3, 0.0, np.random.default_rng(seed)).y) == [0, 1, 2]


def test_split_seed_fixes_the_pools():
    a, b = TabularInjection(split_seed=1), TabularInjection(split_seed=1)
    assert np.array_equal(a.pool.rows("test"), b.pool.rows("test"))
    assert not np.array_equal(a.pool.rows("test"), TabularInjection(split_seed=2).pool.rows("test"))
    assert abs(a.pool.size("test") - 0.3 * len(RAW["breast_cancer"][1])) <= 2  # one rounding per class


def test_same_rng_seed_gives_the_same_sample():
    gen = TabularInjection(dataset="wine", n_spurious=2)
    s1, s2 = (gen.sample(100, 0.6, np.random.default_rng(9), split="test") for _ in range(2))
    for field in ("X", "y", "attr", "group", "X_counterfactual"):
        assert np.array_equal(getattr(s1, field), getattr(s2, field))


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_counterfactual_differs_only_in_spurious_columns(dataset):
    gen = TabularInjection(dataset=dataset, n_spurious=2, spurious_separation=2.5)
    s = gen.sample(300, 0.2, np.random.default_rng(4))
    spurious = np.asarray(s.roles) == "spurious"
    assert np.array_equal(s.X[:, ~spurious], s.X_counterfactual[:, ~spurious])
    step = (((s.attr + 1) % gen.n_classes) - s.attr) * 2.5 / np.sqrt(2)
    moved = s.X_counterfactual[:, spurious] - s.X[:, spurious]
    np.testing.assert_allclose(moved, np.repeat(step[:, None], 2, axis=1), atol=1e-12)


def test_standardize_uses_the_train_pool_statistics_only():
    gen = TabularInjection(dataset="breast_cancer", n_spurious=0, standardize=True)
    rng = np.random.default_rng(0)
    train = gen.sample(gen.pool.size("train"), 0.0, rng).X
    test = gen.sample(gen.pool.size("test"), 0.0, rng, split="test").X
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-10)
    raw_X = RAW["breast_cancer"][0]
    raw_train = raw_X[gen.pool.rows("train")]
    expected = (raw_X[gen.pool.rows("test")] - raw_train.mean(axis=0)) / raw_train.std(axis=0)
    assert row_set(np.round(test, 9)) == row_set(np.round(expected, 9))


# ---- validation and the shift mapping (property tests) -----------------------------------------

BAD_VALUES = {
    "dataset": st.text(max_size=12).filter(lambda v: v not in ("breast_cancer", "wine")),
    "n_spurious": st.one_of(st.integers(max_value=-1), st.floats(allow_nan=False), st.booleans()),
    "train_correlation": st.one_of(st.floats(min_value=1.0, exclude_min=True),
                                   st.floats(max_value=0.0, exclude_max=True), st.just(float("nan"))),
    "spurious_separation": st.floats(max_value=0.0, exclude_max=True),
    "standardize": st.one_of(st.integers(), st.text(max_size=5)),
    "split_seed": st.one_of(st.integers(max_value=-1), st.floats(allow_nan=False)),
    "test_fraction": st.one_of(st.floats(min_value=1.0), st.floats(max_value=0.0)),
}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(BAD_VALUES)).flatmap(lambda k: st.tuples(st.just(k), BAD_VALUES[k])))
def test_invalid_parameter_is_rejected_naming_it(case):
    name, value = case
    with pytest.raises(ParameterError) as info:
        TabularInjection(**{name: value})
    assert info.value.field == name


@given(st.floats(0, 1), st.floats(0, 1))
def test_agreement_is_linear_from_train_correlation_to_its_reverse(train_correlation, shift):
    rho = agreement(train_correlation, shift)
    assert rho == pytest.approx(train_correlation + shift * (1 - 2 * train_correlation), abs=1e-12)
    assert agreement(train_correlation, 0.0) == train_correlation
    assert agreement(train_correlation, 1.0) == pytest.approx(1 - train_correlation, abs=1e-12)


@given(st.one_of(st.floats(min_value=1.0, exclude_min=True), st.floats(max_value=0.0, exclude_max=True)))
def test_shift_outside_0_1_is_rejected(shift):
    with pytest.raises(ParameterError) as info:
        TabularInjection().sample(5, shift, np.random.default_rng(0))
    assert info.value.field == "shift"


@pytest.mark.parametrize("split", ["valid", "Train", None])
def test_unknown_split_is_rejected(split):
    with pytest.raises(ParameterError) as info:
        TabularInjection().sample(5, 0.0, np.random.default_rng(0), split=split)
    assert info.value.field == "split"


@given(st.lists(st.integers(1, 400), min_size=1, max_size=10), st.integers(1, 2000))
def test_allocation_sums_to_n_is_proportional_and_fills_every_class(counts, n):
    counts = np.array(counts)
    alloc = _allocate(n, counts)
    assert alloc.sum() == n and np.all(alloc >= 0)
    if n >= len(counts):
        assert np.all(alloc >= 1)
    if n <= counts.sum():
        assert np.all(alloc <= counts)
    if np.all(n * counts / counts.sum() >= 1):  # no class needed topping up
        assert np.all(np.abs(alloc - n * counts / counts.sum()) < 1)


# ---- scenario files ----------------------------------------------------------------------------

SCENARIOS = sorted(DATASETS_DIR.glob("tabular_*.toml")) + sorted(DATASETS_DIR.glob("ng_jordan_[bw]*.toml"))


def test_scenario_files_exist():
    assert {p.stem for p in SCENARIOS} == {
        "tabular_breast_cancer", "tabular_wine", "ng_jordan_breast_cancer_raw",
        "ng_jordan_breast_cancer_std", "ng_jordan_wine_raw", "ng_jordan_wine_std",
        "tabular_breast_cancer_r080", "tabular_breast_cancer_raw", "tabular_wine_r080",
        "tabular_wine_raw_three_columns"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: Path(p).stem)
def test_scenario_loads_and_fits_its_pools(path):
    scenario = load_scenario(path)
    gen = scenario.generator()
    assert scenario.family == "tabular_injection"
    assert max(scenario.n_train) <= gen.pool.size("train")
    assert scenario.n_test == gen.pool.size("test")
    if scenario.name.startswith("ng_jordan"):
        assert max(scenario.n_train) == gen.pool.size("train") and scenario.shift_levels == (0.0,)
        assert gen.n_spurious == 0 and gen.standardize == scenario.name.endswith("_std")
