"""Experiment 5, label shift: how much does EM prior adaptation (Saerens et al., 2002) recover?

The harness scores every model tagged `prior_shift` twice: as fitted, and as `<model>+em`, its
posteriors re-weighted to the class prior EM estimates from the unlabelled test sample (generative
models, and logistic regression on its calibrated probabilities). The gain is paired within a fit.

The claim and its test are `CLAIM`. The adapted variants saw the unlabelled test set, so they are
test-set-adapted and never ranked with the others unmarked. Under label shift the majority-class
rate climbs towards the new majority, so the effect on balanced accuracy (which adaptation can
lower) is stated beside it, as numbers with intervals (no claim is tested on it).
"""

from __future__ import annotations

import pandas as pd
from spurbench.report.claims import Verdicts
from spurbench.report.experiments import _plots as plots
from spurbench.report.experiments._common import (
    Experiment,
    FigurePlan,
    Params,
    Pending,
    best_of,
    pending,
    rule,
    value_range,
)
from spurbench.report.experiments._stats import paired_difference, tally, verdict, with_ci
from spurbench.report.prepare import ADAPTED_SUFFIX, at_largest_n_train, model_order, ranked_name

ORACLE = "bayes_oracle"
CLAIM = (
    "Published claim (Saerens, Latinne & Decaestecker, Neural Computation 2002, \"Adjusting the outputs "
    "of a classifier to new a priori probabilities\"): re-estimating the class prior by EM on the "
    "unlabelled test sample raises accuracy under label shift. Pre-registered test, per adapted model: "
    "accuracy at the largest shift, adapted (`+em`) minus as fitted, paired over seeds (one fit scored "
    "twice), largest n_train, claimed above 0 by at least the pre-registered 0.020. "
    + rule("the gain is above 0"))


def em_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per adapted model: accuracy without and with EM and the gain, at shift 0 and the largest shift."""
    top = rows["shift"].max()
    records = []
    for name in model_order(rows[rows["model"].str.endswith(ADAPTED_SUFFIX)]):
        base = name.removesuffix(ADAPTED_SUFFIX)
        pair = rows[rows["model"].isin([base, name])]
        record = {"model": base, "paradigm": pair["paradigm"].iloc[0]}
        at = pair[pair["shift"] == top]
        gain, low, high, n = paired_difference(at, "balanced_accuracy", base, name)
        record |= {"balanced_gain_largest_shift": gain, "balanced_gain_ci_low": low,
                   "balanced_gain_ci_high": high, "balanced_gain_n": n}
        for level, label in ((0.0, "shift0"), (top, "largest_shift")):
            at = pair[pair["shift"] == level]
            gain, low, high, n = paired_difference(at, "accuracy", base, name)
            record |= {f"accuracy_{label}": at.loc[at["model"] == base, "accuracy"].mean(),
                       f"adapted_{label}": at.loc[at["model"] == name, "accuracy"].mean(),
                       f"gain_{label}": gain, f"gain_{label}_ci_low": low, f"gain_{label}_ci_high": high,
                       f"gain_{label}_n": n}
        records.append(record)
    return pd.DataFrame(records)


def _balanced_sentence(table: pd.DataFrame) -> str:
    """What EM adaptation does to balanced accuracy at the largest shift (numbers, no claim)."""
    listed = "; ".join(
        f"`{r.model}` "
        f"{with_ci(r.balanced_gain_largest_shift, r.balanced_gain_ci_low, r.balanced_gain_ci_high)}"
        for r in table.itertuples())
    return (f"EM adaptation changes balanced accuracy at the largest shift by "
            f"{value_range(table['balanced_gain_largest_shift'])} ({listed}; no claim tested): accuracy "
            "rewards predicting the new majority class, balanced accuracy does not.")


def _bullets(rows: pd.DataFrame, table: pd.DataFrame, verdicts: Verdicts) -> list[str]:
    lines = []
    for paradigm, part in table.groupby("paradigm", sort=False):
        found = [verdict(r.gain_largest_shift, r.gain_largest_shift_ci_low, r.gain_largest_shift_ci_high,
                         int(r.gain_largest_shift_n), expected=1, verdicts=verdicts)
                 for r in part.itertuples()]
        gains = "; ".join(
            f"`{r.model}` "
            f"{with_ci(r.gain_largest_shift, r.gain_largest_shift_ci_low, r.gain_largest_shift_ci_high)}: "
            f"{said}" for r, said in zip(part.itertuples(), found, strict=True))
        lines.append(f"EM gain in accuracy at the largest shift, {paradigm} models: "
                     f"{value_range(part['gain_largest_shift'])}; the published gain is "
                     f"{tally(found)} ({gains}).")
    lines.append(f"At shift 0 (nothing to adapt to) the gain ranges {value_range(table['gain_shift0'])}.")
    lines.append(_balanced_sentence(table))
    last = rows[rows["shift"] == rows["shift"].max()]
    means = last.groupby(["model", "paradigm"], as_index=False)["accuracy"].mean()
    adapted = means["model"].str.endswith(ADAPTED_SUFFIX)
    plain, em = means[~adapted & (means["paradigm"] != "oracle")], means[adapted]
    best_plain, best_em = best_of(plain), best_of(em)
    lines.append(
        f"At the largest shift the most accurate unadapted model is `{best_plain.model}` "
        f"({best_plain.paradigm}, {best_plain.accuracy:.3f}) and the most accurate adapted one "
        f"`{ranked_name(best_em.model)}` ({best_em.accuracy:.3f}); the Bayes accuracy, which knows the new "
        f"prior, is {last['bayes_accuracy'].mean():.3f} and always predicting the test distribution's "
        f"majority class scores {last['majority_accuracy'].mean():.3f}.")
    disc, gen = em[em["paradigm"] == "discriminative"], em[em["paradigm"] == "generative"]
    if len(disc) and len(gen):
        d, g = best_of(disc).model, best_of(gen).model
        diff, low, high, _ = paired_difference(last, "accuracy", g, d)
        lines.append(f"The most accurate adapted discriminative `{d}` minus the most accurate adapted "
                     f"generative `{g}` at the largest shift (both chosen on these test rows; no claim "
                     f"tested): {with_ci(diff, low, high)}.")
    return lines


def analyse(rows: pd.DataFrame, params: Params) -> Pending:
    rows = at_largest_n_train(rows)
    table = em_table(rows)
    adapted = rows["model"].str.endswith(ADAPTED_SUFFIX)
    oracle = rows[rows["model"] == ORACLE]
    plain = rows[~adapted & (rows["paradigm"] != "oracle")]
    em = rows[adapted].assign(model=rows.loc[adapted, "model"].str.removesuffix(ADAPTED_SUFFIX))
    long = pd.concat([pd.concat([plain, oracle]).assign(variant="unadapted"),
                      pd.concat([em, oracle]).assign(variant="EM-adapted")])
    return pending(
        lambda verdicts: _bullets(rows, table, verdicts) if not table.empty else [],
        tables=[("label_shift_em", "EM prior adaptation: accuracy without and with it, and the gain (95% "
                 "t-interval over seeds), at shift 0 and at the largest shift", table)],
        figures=[FigurePlan(
            "exp_label_shift", "Accuracy versus shift level (the class prior moves from the training prior "
            "to the target prior) without and with EM prior adaptation; grey: the Bayes oracle, which knows "
            "the new prior; largest n_train, 95% t-bands over seeds.",
            lambda: plots.facet_lines(long.assign(value=long["accuracy"]), "shift", "shift level", "variant",
                                      ["unadapted", "EM-adapted"], ylabel="accuracy", sharey=True))])


EXPERIMENT = Experiment(
    5, "label_shift", "Label shift and EM prior adaptation",
    "How much does re-estimating the class prior by EM recover, for each paradigm?",
    analyse, claim=CLAIM)
