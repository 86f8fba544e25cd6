"""`real_table`'s ``groups``: a training draw's groups are exactly the training domains
(``"training_domains"``, what DomainBed's group DRO is given) or the training domains x class
(``"training_domains_by_class"``), test draws at shift 1 come only from the held-out domains, and
the option is refused where it means nothing. Every check is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spurbench.errors import ParameterError
from spurbench.generators.real_table import RealTable

SITES = "abcdef"  # 100 rows each, in order: the row id says the site


@pytest.fixture
def site_table(tmp_path: Path) -> Path:
    """600 rows, a unique id column (a feature), 6 sites, a label tied to a feature."""
    g = np.random.default_rng(42)
    y = g.random(600) < 0.4
    frame = pd.DataFrame({"row_id": np.arange(600), "x": g.normal(size=600) + y,
                          "site": np.repeat(list(SITES), 100), "y": y.astype(int)})
    path = tmp_path / "sites.csv"
    frame.to_csv(path, index=False)
    return path


def _domains(path: Path, groups: str = "training_domains", **params) -> RealTable:
    return RealTable(path=str(path), label="y", mechanism="unseen_domain", domain="site",
                     groups=groups, **params)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_groups_are_exactly_the_training_domains(site_table, seed):
    gen = _domains(site_table, held_out=["e", "f"]).resplit(np.random.default_rng(seed))
    train = gen.sample(150, 0.0, np.random.default_rng(10 + seed), split="train")
    site = train.X[:, 0].astype(int) // 100  # 0..3 = a..d
    assert np.array_equal(train.group, site) and set(train.group) == {0, 1, 2, 3}
    assert train.attr.sum() == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_by_class_training_groups_are_exactly_the_training_domains_by_class(site_table, seed):
    gen = _domains(site_table, "training_domains_by_class", held_out=["e", "f"])
    train = gen.resplit(np.random.default_rng(seed)).sample(150, 0.0, np.random.default_rng(seed),
                                                            split="train")
    site = train.X[:, 0].astype(int) // 100
    assert np.array_equal(train.group, 2 * site + train.y)
    assert set(train.group) == {2 * d + c for d in range(4) for c in (0, 1)}  # every cell drawn


@pytest.mark.parametrize("groups", ["training_domains", "training_domains_by_class"])
def test_test_draws_at_shift_1_come_only_from_held_out_domains(site_table, groups):
    test = _domains(site_table, groups, held_out=["e", "f"]).sample(150, 1.0, np.random.default_rng(3),
                                                                   split="test")
    site = test.X[:, 0].astype(int) // 100
    assert set(site) == {4, 5} and np.all(test.attr == 1)
    expected = site if groups == "training_domains" else 2 * site + test.y
    assert np.array_equal(test.group, expected)  # a held-out domain keeps its own ids


def test_drawn_held_out_domains_keep_the_domain_ids(site_table):
    gen = _domains(site_table, held_out_share=0.34).resplit(np.random.default_rng(5))
    held = {SITES.index(s) for s in gen.held_out}
    train = gen.sample(120, 0.0, np.random.default_rng(6), split="train")
    assert set(train.group) == set(range(6)) - held


def test_the_default_grouping_is_unchanged(site_table):
    gen = RealTable(path=str(site_table), label="y", mechanism="unseen_domain", domain="site",
                    held_out=["e", "f"])
    test = gen.sample(100, 0.5, np.random.default_rng(7), split="test")
    assert np.array_equal(test.group, 2 * test.y + test.attr) and test.attr.sum() == 50


@pytest.mark.parametrize("params", [
    dict(mechanism="unseen_domain", domain="site", held_out=["f"], groups="sites"),
    dict(attribute="site", attribute_values=["a"], rho=0.8, groups="training_domains"),
])
def test_a_wrong_grouping_is_refused_naming_groups(site_table, params):
    with pytest.raises(ParameterError) as caught:
        RealTable(path=str(site_table), label="y", **params)
    assert caught.value.field == "groups" and "\n" not in str(caught.value)
