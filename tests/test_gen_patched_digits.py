"""`patched_digits`: patch placement, roles, counterfactual, pools, validation, scenario files.

The pool machinery shared with `tabular_injection` (allocation, bootstrap, shift mapping) is
tested in test_gen_tabular_injection.py. Statistical checks allow 4 standard errors (a correct
generator fails one with probability below 1e-4).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets
from spurbench.errors import ParameterError
from spurbench.generators.patched_digits import TASKS, PatchedDigits
from spurbench.harness.spec import DATASETS_DIR, load_scenario

IMAGES, DIGITS = datasets.load_digits(return_X_y=True)
ALWAYS_ZERO = set(np.flatnonzero(IMAGES.max(axis=0) == 0))
SE_TOLERANCE = 4.0


def row_set(X: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(X)}


@pytest.mark.parametrize("task", ["low_high", "all"])
@pytest.mark.parametrize("shift", [0.0, 0.5, 1.0])
def test_realised_agreement_is_within_4_se_of_rho(task, shift):
    gen = PatchedDigits(task=task, train_correlation=0.85)
    n = 3000
    s = gen.sample(n, shift, np.random.default_rng(13))
    rho = gen.agreement(shift)
    assert abs(np.mean(s.attr == s.y) - rho) <= SE_TOLERANCE * np.sqrt(rho * (1 - rho) / n)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_labels_follow_the_task(task):
    gen = PatchedDigits(task=task, patch=False)
    s = gen.sample(gen.pool.size("test"), 0.0, np.random.default_rng(0), split="test")
    digit_of = {row.tobytes(): d for row, d in zip(IMAGES, DIGITS, strict=True)}
    digits = np.array([digit_of[row.tobytes()] for row in s.X])
    expected = {"low_high": digits >= 5, "parity": digits % 2, "all": digits}[task]
    assert np.array_equal(s.y, expected)
    assert gen.n_classes == len(np.unique(expected))


@pytest.mark.parametrize(("task", "n_spurious"), [("low_high", 8), ("parity", 8), ("all", 40)])
def test_roles_mark_patch_blocks_spurious_and_blank_pixels_noise(task, n_spurious):
    gen = PatchedDigits(task=task)
    roles = np.asarray(gen.roles)
    spurious = set(np.flatnonzero(roles == "spurious"))
    assert len(roles) == 64 and len(spurious) == n_spurious
    assert spurious == set(gen.patch_pixels.ravel())
    assert set(np.flatnonzero(roles == "noise")) == ALWAYS_ZERO - spurious
    plain = np.asarray(PatchedDigits(task=task, patch=False).roles)
    assert set(np.flatnonzero(plain == "noise")) == ALWAYS_ZERO and "spurious" not in plain


def test_binary_patches_sit_in_opposite_corners():
    assert sorted(PatchedDigits().patch_pixels[0]) == [0, 1, 8, 9]
    assert sorted(PatchedDigits().patch_pixels[1]) == [54, 55, 62, 63]


def test_sample_shapes_dtypes_and_groups():
    gen = PatchedDigits(task="all")
    s = gen.sample(200, 0.4, np.random.default_rng(1), split="test")
    assert s.X.shape == (200, 64) and s.X.dtype == np.float64 and s.y.dtype == np.int64
    assert np.array_equal(s.group, 10 * s.y + s.attr) and s.X_counterfactual.shape == s.X.shape
    plain = PatchedDigits(patch=False).sample(20, 0.0, np.random.default_rng(1))
    assert plain.attr is None and plain.group is None and plain.X_counterfactual is None


@pytest.mark.parametrize("task", ["low_high", "all"])
def test_patch_is_stamped_at_the_attribute_and_moved_in_the_counterfactual(task):
    gen = PatchedDigits(task=task, patch_intensity=12.5)
    s = gen.sample(300, 0.3, np.random.default_rng(2))
    rows = np.arange(len(s))[:, None]
    moved = (s.attr + 1) % gen.n_classes
    assert np.all(s.X[rows, gen.patch_pixels[s.attr]] == 12.5)
    assert np.all(s.X_counterfactual[rows, gen.patch_pixels[moved]] == 12.5)
    spurious = np.asarray(s.roles) == "spurious"
    assert np.array_equal(s.X[:, ~spurious], s.X_counterfactual[:, ~spurious])
    original = {row[~spurious].tobytes(): row for row in IMAGES}  # non-patch pixels identify an image
    for x, x_cf, a in zip(s.X, s.X_counterfactual, s.attr, strict=True):
        image = original[x[~spurious].tobytes()]
        assert np.array_equal(x_cf[gen.patch_pixels[a]], image[gen.patch_pixels[a]])


def test_pixel_noise_is_shared_by_the_counterfactual_and_has_the_set_scale():
    gen = PatchedDigits(pixel_noise=0.5)
    s = gen.sample(2000, 0.0, np.random.default_rng(3))
    spurious = np.asarray(s.roles) == "spurious"
    assert np.array_equal(s.X[:, ~spurious], s.X_counterfactual[:, ~spurious])
    blank = s.X[:, sorted(ALWAYS_ZERO - set(np.flatnonzero(spurious)))].ravel()
    # the sample variance of n normals has relative SE sqrt(2 / n)
    assert abs(blank.var() / 0.25 - 1) <= SE_TOLERANCE * np.sqrt(2 / len(blank))


def test_train_validation_and_test_pools_are_disjoint_and_cover_every_image():
    gen = PatchedDigits(task="all", patch=False)
    rng = np.random.default_rng(4)
    train, validation, test = (row_set(gen.sample(gen.pool.size(split), 0.0, rng, split=split).X)
                               for split in ("train", "validation", "test"))
    assert len(train) == gen.pool.size("train")  # (1797 distinct images) the whole pool, none twice
    assert not train & validation and not train & test and not validation & test
    assert train | validation | test == row_set(IMAGES)


def test_patched_training_draw_uses_only_train_pool_images():
    gen = PatchedDigits()
    s = gen.sample(500, 0.0, np.random.default_rng(5))
    keep = np.asarray(gen.roles) != "spurious"
    assert row_set(s.X[:, keep]) <= row_set(IMAGES[gen.pool.rows("train")][:, keep])


def test_same_rng_seed_gives_the_same_sample():
    gen = PatchedDigits(pixel_noise=1.0)
    s1, s2 = (gen.sample(80, 0.7, np.random.default_rng(6), split="test") for _ in range(2))
    for field in ("X", "y", "attr", "group", "X_counterfactual"):
        assert np.array_equal(getattr(s1, field), getattr(s2, field))


BAD_VALUES = {
    "task": st.text(max_size=10).filter(lambda v: v not in TASKS),
    "patch": st.one_of(st.integers(), st.text(max_size=5)),
    "train_correlation": st.one_of(st.floats(min_value=1.0, exclude_min=True),
                                   st.floats(max_value=0.0, exclude_max=True), st.text(max_size=3)),
    "patch_intensity": st.one_of(st.floats(max_value=0.0, exclude_max=True), st.just(float("inf"))),
    "pixel_noise": st.one_of(st.floats(max_value=0.0, exclude_max=True), st.booleans()),
    "split_seed": st.integers(max_value=-1),
    "test_fraction": st.one_of(st.floats(min_value=1.0), st.floats(max_value=0.0)),
}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(BAD_VALUES)).flatmap(lambda k: st.tuples(st.just(k), BAD_VALUES[k])))
def test_invalid_parameter_is_rejected_naming_it(case):
    name, value = case
    with pytest.raises(ParameterError) as info:
        PatchedDigits(**{name: value})
    assert info.value.field == name


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1))
def test_agreement_runs_from_train_correlation_to_its_reverse(train_correlation, shift):
    gen = PatchedDigits(train_correlation=train_correlation)
    assert gen.agreement(shift) == pytest.approx(
        train_correlation + shift * (1 - 2 * train_correlation), abs=1e-12)


@pytest.mark.parametrize("name", ["patched_digits", "ng_jordan_digits"])
def test_scenario_loads_and_fits_its_pools(name):
    scenario = load_scenario(DATASETS_DIR / f"{name}.toml")
    gen = scenario.generator()
    assert scenario.family == "patched_digits"
    assert max(scenario.n_train) == gen.pool.size("train")
    assert scenario.n_test == gen.pool.size("test")
    assert gen.patch == (name == "patched_digits")
