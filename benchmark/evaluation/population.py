"""Population (infinite-data) worst-group accuracy of linear generative and discriminative fits.

The setting is the `group_shift` family (Sagawa et al.'s synthetic Waterbirds) with balanced
classes: a core block whose features are N(+-1, core_noise^2) with the sign of y and a spurious
block N(+-1, spurious_noise^2) with the sign of the attribute a, which agrees with y with
probability `majority_share` in training. Within a block every feature carries the same
information, so every linear fit below weighs them equally and only the block means matter:
N(+-1, core_noise^2 / n_core) and N(+-1, spurious_noise^2 / n_spurious). Noise features get
weight 0 in the population; they act only through finite samples.

* **Generative (LDA, and naive Bayes, which coincides here)**: fits one Gaussian per class. The
  spurious block is a two-component mixture within each class, which the class Gaussian summarises
  by its moments, mean (2 rho - 1) and variance s^2 + 4 rho (1 - rho); the weights are
  mean difference / variance per block, in closed form (`generative_weights`).
* **Discriminative (logistic regression as its L2 penalty vanishes)**: minimises the expected log
  loss over linear scores; no closed form, so the expectation is an exact Gauss-Hermite quadrature
  over the four (y, a) components and the convex minimisation is numerical
  (`logistic_weights`, accurate to ~1e-8).
* **Worst-group accuracy** of any linear score w_c s_c + w_s s_s is in closed form: the minority
  group (a != y) has mean w_c - w_s and standard deviation sqrt(w_c^2 v_c + w_s^2 v_s), so its
  accuracy is Phi of their ratio (`worst_group_accuracy`).

The generative fit's spurious weight grows without bound as the spurious noise vanishes (a clean
attribute looks like unbounded evidence to a Gaussian fitted to a bimodal feature), while the
logistic fit's stays bounded by the attribute's log-odds log(rho / (1 - rho)): in the population,
a sharp shortcut hurts the generative fit more. `boundary` finds the spurious noise where the two
cross, for each core noise. What finite samples and many noise dimensions add (interpolation, the
over-parameterised regime of Li, Kumar & Pathak, 2025) is measured by simulation, not here.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

GAUSS_HERMITE_NODES = 60


def _block_variances(core_noise: float, spurious_noise: float, n_core: int = 1,
                     n_spurious: int = 1) -> tuple[float, float]:
    return core_noise**2 / n_core, spurious_noise**2 / n_spurious


def generative_weights(core_noise: float, spurious_noise: float, majority_share: float,
                       n_core: int = 1, n_spurious: int = 1) -> tuple[float, float]:
    """Population LDA / naive Bayes weights (w_core, w_spurious) on the block means (closed form)."""
    v_c, v_s = _block_variances(core_noise, spurious_noise, n_core, n_spurious)
    rho = majority_share
    return 2.0 / v_c, 2.0 * (2.0 * rho - 1.0) / (v_s + 4.0 * rho * (1.0 - rho))


def _expected_log_loss(w: np.ndarray, v_c: float, v_s: float, rho: float,
                       nodes: np.ndarray, weights: np.ndarray) -> float:
    """E[log(1 + exp(-y (w_c s_c + w_s s_s)))] by Gauss-Hermite quadrature, y = +1 (symmetric)."""
    w_c, w_s = w
    loss = 0.0
    for attr_sign, share in ((1.0, rho), (-1.0, 1.0 - rho)):
        mean = w_c + w_s * attr_sign
        sd = np.sqrt(w_c**2 * v_c + w_s**2 * v_s)
        z = mean + np.sqrt(2.0) * sd * nodes
        loss += share * np.sum(weights * np.logaddexp(0.0, -z)) / np.sqrt(np.pi)
    return float(loss)


def logistic_weights(core_noise: float, spurious_noise: float, majority_share: float,
                     n_core: int = 1, n_spurious: int = 1) -> tuple[float, float]:
    """Population logistic-regression weights (w_core, w_spurious): expected log loss minimised.

    The score w_c s_c + w_s s_s is Gaussian within each (y, a) component, so a 1-D quadrature per
    component is exact up to the quadrature order; the intercept is 0 by symmetry.
    """
    v_c, v_s = _block_variances(core_noise, spurious_noise, n_core, n_spurious)
    nodes, weights = np.polynomial.hermite.hermgauss(GAUSS_HERMITE_NODES)
    start = np.array(generative_weights(core_noise, spurious_noise, majority_share, n_core,
                                        n_spurious)) / 4.0
    result = optimize.minimize(_expected_log_loss, start,
                               args=(v_c, v_s, majority_share, nodes, weights),
                               method="BFGS", options={"gtol": 1e-10})
    return float(result.x[0]), float(result.x[1])


def worst_group_accuracy(w_core: float, w_spurious: float, core_noise: float,
                         spurious_noise: float, n_core: int = 1, n_spurious: int = 1) -> float:
    """Accuracy of the linear score on the minority groups (a != y), the worst ones (closed form)."""
    v_c, v_s = _block_variances(core_noise, spurious_noise, n_core, n_spurious)
    mean = w_core - w_spurious
    return float(special.ndtr(mean / np.sqrt(w_core**2 * v_c + w_spurious**2 * v_s)))


def population_worst_group(core_noise: float, spurious_noise: float, majority_share: float,
                           n_core: int = 1, n_spurious: int = 1) -> dict[str, float]:
    """Population worst-group accuracy of the generative and the logistic fit, and their gap.

    Returns
    -------
    dict with ``generative``, ``discriminative`` and ``gap`` (discriminative minus generative,
    the report's sign convention), plus the weights of both fits.
    """
    args = (core_noise, spurious_noise)
    blocks = {"n_core": n_core, "n_spurious": n_spurious}
    gen = generative_weights(*args, majority_share, **blocks)
    disc = logistic_weights(*args, majority_share, **blocks)
    gen_wg = worst_group_accuracy(*gen, *args, **blocks)
    disc_wg = worst_group_accuracy(*disc, *args, **blocks)
    return {"generative": gen_wg, "discriminative": disc_wg, "gap": disc_wg - gen_wg,
            "generative_w_core": gen[0], "generative_w_spurious": gen[1],
            "logistic_w_core": disc[0], "logistic_w_spurious": disc[1]}


def boundary(core_noise: float, majority_share: float, low: float = 0.05, high: float = 5.0,
             n_core: int = 1, n_spurious: int = 1) -> float | None:
    """The spurious noise at which the two population fits have equal worst-group accuracy.

    Searched on [low, high] by Brent's method; None when the gap keeps one sign on the interval.
    """
    def gap(spurious_noise: float) -> float:
        return population_worst_group(core_noise, spurious_noise, majority_share, n_core,
                                      n_spurious)["gap"]

    g_low, g_high = gap(low), gap(high)
    if np.sign(g_low) == np.sign(g_high):
        return None
    return float(optimize.brentq(gap, low, high, xtol=1e-6))
