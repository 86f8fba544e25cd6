"""Experiment 5, label shift: how much does EM prior adaptation (Saerens et al., 2002) recover?

The harness scores every model tagged `prior_shift` twice: as fitted, and as `<model>+em`, its
posteriors re-weighted to the class prior EM estimates from the unlabelled test sample (generative
models, and logistic regression on its calibrated probabilities). The gain is paired within a fit.

Published claim (Saerens et al., 2002): re-estimating the prior raises accuracy under label shift;
it is reproduced for a model when its accuracy gain at the largest shift is clearly above 0. The
adapted variants saw the unlabelled test set, so they are test-set-adapted and never ranked with
the others unmarked. Under label shift the majority-class rate climbs towards the new majority,
so the effect on balanced accuracy (which adaptation can lower) is stated beside it.
"""

from __future__ import annotations

import pandas as pd

from benchmark.report.claims import paper_verdict
from benchmark.report.experiments import _plots as plots
from benchmark.report.experiments._common import Experiment, FigurePlan, Params, Section, best_of, value_range
from benchmark.report.experiments._stats import claim, clear_signs, paired_difference, with_ci
from benchmark.report.prepare import ADAPTED_SUFFIX, at_largest_n_train, model_order, ranked_name

ORACLE = "bayes_oracle"


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
    """What EM adaptation does to balanced accuracy at the largest shift, by the same rule."""
    signs = clear_signs(table, "balanced_gain_ci_low", "balanced_gain_ci_high", "balanced_gain_n")
    listed = "; ".join(
        f"`{r.model}` "
        f"{with_ci(r.balanced_gain_largest_shift, r.balanced_gain_ci_low, r.balanced_gain_ci_high)}"
        for r in table.itertuples())
    return (f"EM adaptation clearly lowers balanced accuracy at the largest shift for "
            f"{int((signs < 0).sum())} and clearly raises it for {int((signs > 0).sum())} of {len(table)} "
            f"models ({listed}): accuracy rewards predicting the new majority class, balanced accuracy "
            "does not.")


def _bullets(rows: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    lines = []
    for paradigm, part in table.groupby("paradigm", sort=False):
        verdicts = [paper_verdict(r.gain_largest_shift_ci_low, r.gain_largest_shift_ci_high,
                                  int(r.gain_largest_shift_n), 1) for r in part.itertuples()]
        gains = "; ".join(
            f"`{r.model}` "
            f"{with_ci(r.gain_largest_shift, r.gain_largest_shift_ci_low, r.gain_largest_shift_ci_high)}: "
            f"{verdict}" for r, verdict in zip(part.itertuples(), verdicts, strict=True))
        lines.append(f"EM gain in accuracy at the largest shift, {paradigm} models: "
                     f"{value_range(part['gain_largest_shift'])}; the published gain is reproduced for "
                     f"{verdicts.count('reproduced')} of {len(part)} ({gains}).")
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
        diff, low, high, n = paired_difference(last, "accuracy", g, d)
        judged = claim(diff, low, high, n, f"`{d}` more accurate", f"`{g}` more accurate")
        lines.append(f"The adapted discriminative `{d}` minus the best adapted generative `{g}` at the "
                     f"largest shift: {judged}.")
    return lines


def analyse(rows: pd.DataFrame, params: Params) -> Section:
    rows = at_largest_n_train(rows)
    table = em_table(rows)
    adapted = rows["model"].str.endswith(ADAPTED_SUFFIX)
    oracle = rows[rows["model"] == ORACLE]
    plain = rows[~adapted & (rows["paradigm"] != "oracle")]
    em = rows[adapted].assign(model=rows.loc[adapted, "model"].str.removesuffix(ADAPTED_SUFFIX))
    long = pd.concat([pd.concat([plain, oracle]).assign(variant="unadapted"),
                      pd.concat([em, oracle]).assign(variant="EM-adapted")])
    return Section(
        bullets=_bullets(rows, table) if not table.empty else [],
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
    analyse)
