"""The per-family reference of datasets/README.md, generated from the registered families.

Why: adding a family must be one module plus its specs. The README's per-family reference
(parameters with defaults and meanings, source, oracles, data family, shipped scenarios) is
written by `families_markdown` from what the family declares: its `__init__` signature, its class
docstring's first paragraph, the ``Parameters`` section of its module docstring (numpydoc form,
``name[, name] : meaning`` with indented continuation lines), its `source` / `discrete` /
`prior_adaptation` traits, which oracle methods it overrides and its `data_family` override's
docstring. `tools/docs_blocks.py` rewrites the block between ``<!-- families:start -->`` and
``<!-- families:end -->``; a test keeps the committed block equal to this output.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterable
from typing import Protocol

from spurbench.generators.base import Generator
from spurbench.registry import get_generator, list_generators

MARKERS = ("<!-- families:start -->", "<!-- families:end -->")


class _ScenarioLike(Protocol):
    name: str
    family: str
    headline: bool
    data_family: str


def parameter_docs(doc: str) -> dict[str, str]:
    """Parameter name -> meaning, from the ``Parameters`` section of a numpydoc docstring.

    An entry is ``name : meaning`` or ``a, b : meaning`` (one meaning for several names), with
    indented continuation lines; the section ends at a blank line or an unindented line without
    `` : ``."""
    match = re.search(r"^Parameters\n-+\n(.*?)(?:\n\s*\n|\Z)", inspect.cleandoc(doc), re.S | re.M)
    if not match:
        return {}
    found: dict[str, str] = {}
    names: list[str] = []
    for line in match.group(1).splitlines():
        head = re.match(r"^([A-Za-z_][\w, ]*?) : (.*)$", line)
        if head:
            names = [n.strip() for n in head.group(1).split(",")]
            for name in names:
                found[name] = head.group(2).strip()
        elif line.startswith(" ") and names:
            for name in names:
                found[name] += " " + line.strip()
        else:
            break
    return found


def _first_paragraph(obj: object) -> str:
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    return " ".join(doc.split("\n\n")[0].split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _overrides(cls: type, method: str) -> bool:
    return getattr(cls, method) is not getattr(Generator, method)


def _oracles(cls: type[Generator]) -> str:
    if not cls.knows_posterior():
        return ("no Bayes oracle (the densities are unknown); where a scenario has spurious columns, "
                "the invariant reference is the same model refitted without them")
    both = _overrides(cls, "invariant_posterior")
    text = ("`bayes_oracle` and `invariant_oracle` (exact posteriors)" if both
            else "`bayes_oracle` (exact posterior)")
    exact = [name for name in ("bayes_accuracy", "invariant_accuracy") if _overrides(cls, name)]
    if exact:
        return text + "; closed-form " + " and ".join(f"`{n}`" for n in exact) + \
            " where the parameters allow one, otherwise Monte-Carlo"
    return text + "; accuracies by Monte-Carlo"


def _data_family(cls: type[Generator], scenarios: list[_ScenarioLike]) -> str:
    if cls.data_family.__func__ is Generator.data_family.__func__:  # type: ignore[attr-defined]
        return f"`{cls.family}` (one process whatever the parameters)"
    rule = (_first_paragraph(cls.data_family) or "set by the parameters").rstrip(".")
    shipped = sorted({s.data_family for s in scenarios})
    return rule + (f" (shipped: {', '.join(f'`{f}`' for f in shipped)})" if shipped else "")


def _annotation(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    return f"`{annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)}`"


def _default(parameter: inspect.Parameter) -> str:
    if parameter.default is inspect.Parameter.empty:
        return "required"
    return f"`{parameter.default!r}`"


def family_markdown(cls: type[Generator], scenarios: Iterable[_ScenarioLike]) -> str:
    """One family's reference: description, traits, oracles, parameters and shipped scenarios."""
    own = sorted(scenarios, key=lambda s: s.name)
    module_doc = sys.modules[cls.__module__].__doc__ or ""
    meanings = parameter_docs(module_doc)
    traits = [f"source: {cls.source}", f"discrete: {'yes' if cls.discrete else 'no'}"]
    if cls.prior_adaptation:
        traits.append("only the class prior moves (`+em` rows of `prior_shift` models)")
    lines = [f"### `{cls.family}`", "", _first_paragraph(cls), "",
             f"- Traits: {'; '.join(traits)}.",
             f"- Oracles: {_oracles(cls)}.",
             f"- Data family (the rows' `family`): {_data_family(cls, own)}.",
             f"- Module: `benchmark/generators/{cls.__module__.rsplit('.', 1)[-1]}.py`.", ""]
    parameters = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    if parameters:
        lines += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        for p in parameters:
            kind = _annotation(p.annotation)
            lines.append(f"| `{p.name}` | {_cell(kind)} | {_cell(_default(p))} | "
                         f"{_cell(meanings.get(p.name, ''))} |")
        lines.append("")
    headline = [f"`{s.name}`" for s in own if s.headline]
    other = [f"`{s.name}`" for s in own if not s.headline]
    shipped = (f"headline: {', '.join(headline) or 'none'}; other: {', '.join(other) or 'none'}"
               if own else "none")
    lines.append(f"Shipped scenarios ({len(own)}): {shipped}.")
    return "\n".join(lines)


def families_markdown(scenarios: Iterable[_ScenarioLike]) -> str:
    """Every registered family's reference, in name order, as datasets/README.md holds it between
    the ``families`` markers; `scenarios` are the shipped specs (`spec.load_scenarios`)."""
    scenarios = list(scenarios)
    return "\n\n".join(family_markdown(get_generator(name), [s for s in scenarios if s.family == name])
                       for name in list_generators())

