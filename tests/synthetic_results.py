"""A fabricated but realistically shaped results frame, for previewing the report and for tests.

Nothing here is measured: accuracies are drawn from a simple model with known structure, so the
report's layout can be checked at full scale (15 scenarios x 16 models) without a run, and the
analysis can be tested on rows where the paradigm effect is planted and therefore known:

    accuracy = id_accuracy(scenario, model, n_train) - shift * (sensitivity(scenario)
               + robustness(model) + paradigm_effect * [discriminative]) + noise

with three noise terms mirroring the harness's sharing of data: one per (scenario, seed, shift)
shared by every model (the same test sample), one per fit shared by every shift (the same fitted
model), and one per row.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from benchmark.store import COLUMNS

GENERATIVE = ("gaussian_nb", "nb_shared_var", "bernoulli_nb", "lda", "lda_shrinkage", "qda",
              "gmm_classifier", "kde_classifier")
DISCRIMINATIVE = ("logistic_regression", "statsmodels_logit", "linear_svm", "random_forest",
                  "hist_gradient_boosting", "knn", "mlp", "svm_rbf")
ORACLES = ("bayes_oracle", "invariant_oracle")
# (scenario, family): families named "real_*" behave like real data (no closed-form oracles).
SCENARIOS = (
    ("spurious_gaussian", "gaussian_spurious"), ("misspecified_correlated", "gaussian_spurious"),
    ("misspecified_heavy_tails", "gaussian_spurious"), ("multiclass_spurious", "gaussian_spurious"),
    ("group_shift", "group_shift"), ("group_shift_rare", "group_shift"),
    ("label_shift", "label_shift"), ("binary_spurious", "binary_spurious"),
    ("covariate_translation", "covariate_shift"), ("covariate_scale", "covariate_shift"),
    ("noise_shift", "noise_shift"), ("missing_features", "missing_features"),
    ("nb_misspecified", "nb_misspecified"), ("real_patched_digits", "real_patched_digits"),
    ("real_tabular_injection", "real_tabular_injection"),
)
ADAPTED_FAMILY = "label_shift"
ADAPTED_MODELS = ("gaussian_nb", "lda", "qda")


def synthetic_results(
    n_scenarios: int = 15,
    n_models: int = 16,
    seeds: int = 3,
    n_train: tuple[int, ...] = (200, 2000),
    levels: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    paradigm_effect: float = 0.0,
    model_spread: float = 0.04,
    noise_sd: float = 0.01,
    random_state: int = 0,
) -> pd.DataFrame:
    """Rows with every column of `benchmark.store.COLUMNS`, oracles and two failed fits included.

    Parameters
    ----------
    n_scenarios, n_models : how many of `SCENARIOS` and of the learners (alternating paradigms).
    paradigm_effect : extra accuracy drop of discriminative models at shift 1 (linear in shift).
    model_spread : standard deviation of the per-model robustness; 0 makes every model of a
        paradigm degrade alike, so the paradigm effect is exactly `paradigm_effect`.
    noise_sd : standard deviation of each of the three noise terms.
    """
    rng = np.random.default_rng(random_state)
    learners = [m for pair in zip(GENERATIVE, DISCRIMINATIVE, strict=True) for m in pair][:n_models]
    models = [(m, "generative" if m in GENERATIVE else "discriminative") for m in learners]
    models += [(f"{m}+em", "generative") for m in ADAPTED_MODELS if m in learners]
    models += [(m, "oracle") for m in ORACLES]
    robustness = {m: rng.normal(0, model_spread) for m, _ in models}
    skill = {m: rng.normal(0, 0.02) for m, _ in models}
    rows = []
    for scenario, family in SCENARIOS[:n_scenarios]:
        real = family.startswith("real_")
        base, sensitivity = rng.uniform(0.75, 0.92), rng.uniform(0.05, 0.3)
        test_noise = rng.normal(0, noise_sd, (seeds, len(levels)))
        for model, paradigm in models:
            if (paradigm == "oracle" and real) or ("+em" in model and family != ADAPTED_FAMILY):
                continue
            for n in n_train:
                for seed in range(seeds):
                    fit_noise = rng.normal(0, noise_sd)
                    for i, shift in enumerate(levels):
                        bayes = base + 0.06 - 0.04 * shift * (1 - shift)
                        drop = shift * (sensitivity + robustness[model]
                                        + paradigm_effect * (paradigm == "discriminative"))
                        acc = base + skill[model] - 2.0 / np.sqrt(n) - drop + fit_noise
                        if model == "bayes_oracle":
                            acc = bayes
                        elif model == "invariant_oracle":
                            acc = base - 0.02
                        acc = float(np.clip(acc + test_noise[seed, i] + rng.normal(0, noise_sd), 0, 1))
                        rows.append(_row(scenario, family, shift, model, paradigm, seed, n, acc,
                                         bayes, real, rng))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return _fail_two_fits(frame)


def _row(scenario: str, family: str, shift: float, model: str, paradigm: str, seed: int,
         n: int, acc: float, bayes: float, real: bool, rng: np.random.Generator) -> dict:
    """One result row whose secondary metrics move plausibly with accuracy and shift."""
    fit_key = hashlib.sha1(f"{scenario}/{model}/{seed}/{n}".encode()).hexdigest()[:16]
    has_counterfactual = family not in ("label_shift", "noise_shift")
    return {
        "scenario": scenario, "family": family, "shift": shift, "model": model,
        "paradigm": paradigm, "seed": seed, "n_train": n, "n_test": 2000,
        "accuracy": acc, "balanced_accuracy": acc - 0.01,
        "worst_group_accuracy": max(0.0, acc - 0.1 - 0.2 * shift * rng.uniform(0.5, 1.5)),
        "log_loss": -np.log(max(acc, 0.05)) + 0.1, "brier": 2 * (1 - acc) * 0.8,
        "ece": 0.02 + 0.15 * shift * rng.uniform(0.5, 1.5), "auroc": min(1.0, acc + 0.05),
        "spurious_reliance": 0.3 * rng.uniform(0.3, 1.0) if has_counterfactual else np.nan,
        "spurious_importance": rng.uniform(0.1, 0.6) if paradigm != "oracle" else np.nan,
        "bayes_accuracy": np.nan if real else bayes,
        "invariant_accuracy": acc + rng.uniform(0.0, 0.05) if real else bayes - 0.08,
        "missing_handling": "imputed" if family == "missing_features" else "none",
        "fit_seconds": 0.01, "predict_seconds": 0.001, "status": "ok", "error": np.nan,
        "fit_key": fit_key, "scenario_hash": scenario,
    }


def _fail_two_fits(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark two fits as failed, as the harness stores them: status error, metrics NaN."""
    learners = frame[frame["paradigm"] != "oracle"]
    failed = learners["fit_key"].drop_duplicates().iloc[[1, -1]]
    rows = frame["fit_key"].isin(failed)
    metrics = ["accuracy", "balanced_accuracy", "worst_group_accuracy", "log_loss", "brier", "ece",
               "auroc", "spurious_reliance", "spurious_importance"]
    frame.loc[rows, metrics] = np.nan
    frame.loc[rows, "status"] = "error"
    frame["error"] = frame["error"].astype(object)
    frame.loc[rows, "error"] = "LinAlgError: singular matrix"
    return frame
