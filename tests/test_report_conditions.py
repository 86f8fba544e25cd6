"""Where each paradigm wins: per-source estimates and the family-weighted meta-regression, on
hand-built scenario tables with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench.report import conditions


def _table(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"family": f, "scenario": s, "difference": d, "source": src,
                          "discrete": src == "network", "n_features": 10, "log10_n_per_d": 2.0,
                          "shortcut": np.nan} for f, s, d, src in rows])


def test_per_source_estimate_is_the_mean_of_family_means_with_a_t_interval_over_families():
    # synthetic: family a has scenarios at 0.02 and 0.04 (mean 3 points), family b 0.05 (5 points)
    # -> mean 4 points, sd of (3, 5) = 1.414, se 1.0, half-width t(0.975, 1) * 1.0 = 12.706.
    # real table: one family at -0.01: -1 point and no interval.
    table = _table([("a", "a1", 0.02, "synthetic"), ("a", "a2", 0.04, "synthetic"),
                    ("b", "b1", 0.05, "synthetic"), ("t", "t1", -0.01, "real table")])
    out = conditions.by_source(table).set_index("source")
    assert out.loc["synthetic", "estimate"] == pytest.approx(4.0)
    half = 12.7062047
    assert out.loc["synthetic", ["ci_low", "ci_high"]].tolist() == pytest.approx([4 - half, 4 + half])
    assert out.loc["synthetic", "families_discriminative_ahead"] == 2
    assert out.loc["real table", "estimate"] == pytest.approx(-1.0)
    assert np.isnan(out.loc["real table", "ci_low"])


def test_the_meta_regression_recovers_a_planted_source_effect_and_weighs_families_equally():
    # 8 synthetic families at -3 points and 8 real-table families at +5 (noise sd 1 point): the
    # coefficient of "source = real table" is 8 points. One synthetic family carries 10 scenarios
    # at -3; with family weights it counts once, so the intercept stays near -3.
    rng = np.random.default_rng(4)
    rows = []
    for i in range(8):
        count = 10 if i == 0 else 1
        rows += [(f"s{i}", f"s{i}_{k}", (-3 + rng.normal(0, 1)) / 100, "synthetic") for k in range(count)]
        rows.append((f"r{i}", f"r{i}_0", (5 + rng.normal(0, 1)) / 100, "real table"))
    table = _table(rows)
    table["log10_n_per_d"] = rng.uniform(1, 3, len(table))
    fit = conditions.meta_regression(table).set_index("term")
    real = fit.loc["source = real table"]
    assert real["ci_low"] < 8 < real["ci_high"] and real["ci_low"] > 4
    assert fit.loc["intercept", "estimate"] == pytest.approx(-3, abs=1.5)
    assert real["n_families"] == 16


def test_the_meta_regression_matches_a_hand_computed_one_predictor_fit():
    # Equal weights (one scenario per family), intercept-only plus source: the coefficient is the
    # difference of the two source means, the intercept the synthetic mean.
    table = _table([("a", "a", 0.01, "synthetic"), ("b", "b", 0.03, "synthetic"),
                    ("c", "c", 0.02, "synthetic"), ("d", "d", 0.06, "real table"),
                    ("e", "e", 0.08, "real table"), ("f", "f", 0.07, "real table")])
    table["log10_n_per_d"] = [1.0, 2.0, 3.0, 1.5, 2.5, 2.0]
    fit = conditions.meta_regression(table).set_index("term")
    import statsmodels.api as sm

    x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1], table["log10_n_per_d"]])
    expected = sm.OLS(100 * table["difference"].to_numpy(), x).fit().params
    assert fit["estimate"].tolist() == pytest.approx(list(expected))
    # clustered by family with one scenario each: HC1-type errors, intervals on 6 - 1 dof
    se = (fit["ci_high"] - fit["ci_low"]) / 2 / stats.t.ppf(0.975, 5)
    assert (se > 0).all()
