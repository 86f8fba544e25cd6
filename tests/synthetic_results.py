"""A fabricated but realistically shaped results frame, for previewing the report and for tests.

Nothing here is measured: accuracies are drawn from a simple model with known structure, so the
report's layout can be checked at full scale (15 scenarios x 16 models: the 12-model panel and
four reference models) without a run, and the analysis can be tested on rows where the paradigm
effect is planted and therefore known:

    accuracy = id_accuracy(scenario, model, n_train) - shift * (sensitivity(scenario)
               + robustness(model) + paradigm_effect * [discriminative]) + noise

with three noise terms mirroring the harness's sharing of data: one per (scenario, seed, shift)
shared by every model (the same test sample), one per fit shared by every shift (the same fitted
model), and one per row. The validation accuracy is the fit's in-distribution accuracy with its
own noise (a separate sample of the training distribution), so it tracks test accuracy at shift 0.
A few fits carry `fit_flags` (`flagged=True`): their accuracy collapses to the majority rate
(`chance_fit`) or to a poor value (`singular_covariance`), so the exclusion rule has work to do.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from spurbench.harness.store import COLUMNS
from spurbench.registry import get_model

# The panel in an order that cycles through the four groups, so the first n models cover every
# group as evenly as possible; the reference models (outside every average) come last.
LEARNERS = ("gaussian_nb", "logistic_regression", "gmm_classifier", "mlp", "nb_shared_var",
            "linear_svm", "kde_classifier", "random_forest", "lda_shrinkage",
            "logistic_regression_mle", "qda", "hist_gradient_boosting", "lda", "knn",
            "bernoulli_nb", "statsmodels_logit")
ORACLES = ("bayes_oracle", "invariant_oracle")
# (model, scenario index, flag): fits whose accuracy collapses, flagged as the harness flags them.
FLAGGED = (("mlp", 5, "chance_fit"), ("qda", 1, "singular_covariance"),
           ("logistic_regression_mle", 0, "not_converged"))
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
    flagged: bool = True,
) -> pd.DataFrame:
    """Rows with every column of `spurbench.harness.store.COLUMNS`, oracles and two failed fits included.

    Parameters
    ----------
    n_scenarios, n_models : how many of `SCENARIOS` and of `LEARNERS` (cycling through the groups).
    paradigm_effect : extra accuracy drop of discriminative models at shift 1 (linear in shift).
    model_spread : standard deviation of the per-model robustness; 0 makes every model of a
        paradigm degrade alike, so the paradigm effect is exactly `paradigm_effect`.
    noise_sd : standard deviation of each of the three noise terms.
    flagged : whether the fits of `FLAGGED` (where they exist) collapse and carry their flag.
    """
    rng = np.random.default_rng(random_state)
    learners = LEARNERS[:n_models]
    models = [(m, get_model(m).paradigm) for m in learners]
    models += [(f"{m}+em", "generative") for m in ADAPTED_MODELS if m in learners]
    models += [(m, "oracle") for m in ORACLES]
    flags = {(m, SCENARIOS[i][0]): flag for m, i, flag in FLAGGED} if flagged else {}
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
                    flag = flags.get((model, scenario), "") if seed == 0 else ""
                    fit = {"fit_flags": flag,
                           "val_accuracy": base + skill[model] - 2.0 / np.sqrt(n) + fit_noise
                           + rng.normal(0, noise_sd)}
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
                        acc = _collapse(acc, flag, _majority(family, shift))
                        rows.append(_row(scenario, family, shift, model, paradigm, seed, n, acc,
                                         bayes, real, rng) | _fit_columns(fit, flag))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return _fail_two_fits(frame)


def _majority(family: str, shift: float) -> float:
    """Majority-class rate: balanced classes, except under label shift where one class takes over."""
    return 0.5 + 0.45 * shift if family == ADAPTED_FAMILY else 0.5


def _collapse(acc: float, flag: str, majority: float) -> float:
    """A flagged fit's accuracy: the majority rate for a chance fit, a poor one for a singular one."""
    if flag == "chance_fit":
        return majority
    return 0.6 * acc if flag == "singular_covariance" else acc


def _fit_columns(fit: dict, flag: str) -> dict:
    """Columns shared by every shift row of one fit: flags, training and validation accuracy."""
    val = float(np.clip(_collapse(fit["val_accuracy"], flag, 0.5), 0, 1))
    return {"fit_flags": fit["fit_flags"], "val_accuracy": val,
            "val_worst_group_accuracy": max(0.0, val - 0.1), "train_accuracy": min(1.0, val + 0.02),
            "train_worst_group_accuracy": max(0.0, val - 0.08)}


def _row(scenario: str, family: str, shift: float, model: str, paradigm: str, seed: int,
         n: int, acc: float, bayes: float, real: bool, rng: np.random.Generator) -> dict:
    """One result row whose secondary metrics move plausibly with accuracy and shift."""
    fit_key = hashlib.sha1(f"{scenario}/{model}/{seed}/{n}".encode()).hexdigest()[:16]
    has_counterfactual = family not in ("label_shift", "noise_shift")
    entry = get_model(model.removesuffix("+em"))
    label_shift = family == ADAPTED_FAMILY
    monte_carlo = scenario == "multiclass_spurious"
    return {
        "scenario": scenario, "family": family, "shift": shift, "model": model,
        "paradigm": paradigm, "group": entry.group, "reference": int(entry.reference),
        "seed": seed, "n_train": n, "n_test": 2000,
        "accuracy": acc, "balanced_accuracy": acc - (0.15 * shift if label_shift else 0.01),
        "worst_group_accuracy": max(0.0, acc - 0.1 - 0.2 * shift * rng.uniform(0.5, 1.5)),
        "log_loss": -np.log(max(acc, 0.05)) + 0.1, "brier": 2 * (1 - acc) * 0.8,
        "ece": 0.02 + 0.15 * shift * rng.uniform(0.5, 1.5), "auroc": min(1.0, acc + 0.05),
        "spurious_reliance": 0.3 * rng.uniform(0.3, 1.0) if has_counterfactual else np.nan,
        "spurious_importance": rng.uniform(0.1, 0.6) if paradigm != "oracle" else np.nan,
        "bayes_accuracy": np.nan if real else bayes,
        "invariant_accuracy": acc + rng.uniform(0.0, 0.05) if real else bayes - 0.08,
        "bayes_accuracy_se": np.nan if real else 0.001 * monte_carlo,
        "invariant_accuracy_se": 0.002 if real else 0.001 * monte_carlo,
        "majority_accuracy": _majority(family, shift),
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
               "auroc", "spurious_reliance", "spurious_importance", "train_accuracy", "val_accuracy",
               "val_worst_group_accuracy"]
    frame.loc[rows, metrics] = np.nan
    frame.loc[rows, "status"] = "error"
    frame["error"] = frame["error"].astype(object)
    frame.loc[rows, "error"] = "LinAlgError: singular matrix"
    return frame
