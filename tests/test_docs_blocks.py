"""The generated reference blocks (families in datasets/README.md, models in docs/models.md)
equal what the code declares, and follow a change to it."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest
from spurbench import registry
from spurbench.generators import Generator
from spurbench.generators.reference import MARKERS, families_markdown, parameter_docs
from spurbench.harness.spec import load_scenarios
from spurbench.models import missing_extras
from spurbench.models.reference import models_markdown

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("docs_blocks", ROOT / "tools" / "docs_blocks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _committed(path: Path, markers: tuple[str, str]) -> str:
    start, end = markers
    return path.read_text().split(start + "\n")[1].split("\n" + end)[0]


def test_datasets_readme_holds_exactly_the_generated_family_reference():
    expected = families_markdown(load_scenarios([ROOT / "datasets"]))
    assert _committed(ROOT / "datasets" / "README.md", MARKERS) == expected, \
        "stale: run python tools/docs_blocks.py"


@pytest.mark.skipif(bool(missing_extras()), reason="an optional model extra is not installed, "
                    "so the registry lacks the models it would add")
def test_docs_models_holds_exactly_the_generated_models_table():
    from spurbench.models.reference import MARKERS as MODEL_MARKERS

    assert _committed(ROOT / "docs" / "models.md", MODEL_MARKERS) == models_markdown(), \
        "stale: run python tools/docs_blocks.py"


def test_the_tool_rewrites_a_stale_block_and_leaves_the_rest(tmp_path):
    tool = _tool()
    text = "# Title\n\nprose\n<!-- x:start -->\nold\nlines\n<!-- x:end -->\nafter\n"
    new = tool.replace_block(text, "new", ("<!-- x:start -->", "<!-- x:end -->"))
    assert new == "# Title\n\nprose\n<!-- x:start -->\nnew\n<!-- x:end -->\nafter\n"
    assert tool.replace_block(new, "new", ("<!-- x:start -->", "<!-- x:end -->")) == new


def test_every_parameter_of_every_family_has_a_documented_meaning():
    """The generated table carries each parameter's meaning only if the module documents it."""
    for name in registry.list_generators():
        cls = registry.get_generator(name)
        documented = parameter_docs(inspect.getmodule(cls).__doc__ or "")
        params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        missing = [p for p in params if not documented.get(p)]
        assert not missing, f"{name}: parameters without a meaning in the module docstring: {missing}"
        stale = sorted(set(documented) - set(params))
        assert not stale, f"{name}: the module docstring documents parameters it does not take: {stale}"


def test_parameter_docs_reads_shared_meanings_and_continuation_lines():
    doc = """Title.

    Parameters
    ----------
    a, b : widths (>= 0).
    c : a long meaning
        that continues.

    Prose after the section: d : not a parameter.
    """
    assert parameter_docs(doc) == {"a": "widths (>= 0).", "b": "widths (>= 0).",
                                   "c": "a long meaning that continues."}
    assert parameter_docs("No section here.") == {}


def test_a_newly_registered_family_appears_with_its_parameters_and_scenarios():
    class FakeScenario:
        name, family, headline, data_family = "fake_one", "zz_fake_family", True, "zz_fake_family"

    before = families_markdown([])

    class FakeFamily(Generator):
        """A family registered by this test only.

        Its second paragraph stays out of the reference.
        """

        discrete = True

        def __init__(self, strength: float = 0.25, width: int = 3):
            self.n_classes = 2

        def sample(self, n, shift, rng, split="train"):
            raise NotImplementedError

    registry.register_generator("zz_fake_family")(FakeFamily)
    try:
        after = families_markdown([FakeScenario()])
    finally:
        del registry._GENERATORS["zz_fake_family"]
    assert after != before and after.startswith(before)
    section = after[len(before):]
    assert "### `zz_fake_family`" in section
    assert "A family registered by this test only." in section
    assert "second paragraph" not in section
    assert "| `strength` | `float` | `0.25` |" in section and "| `width` | `int` | `3` |" in section
    assert "discrete: yes" in section and "no Bayes oracle" in section
    assert "Shipped scenarios (1): headline: `fake_one`; other: none." in section
    assert families_markdown([]) == before


def test_a_newly_registered_model_appears_in_the_models_table():
    def zz_fake_model(random_state: int):
        """A model registered by this test only."""

    zz_fake_model.__module__ = "spurbench.models.zz_fake"  # as if dropped into benchmark/models/
    before = models_markdown()
    registry.register_model("zz_fake_model", paradigm="generative", tags={"reference"})(zz_fake_model)
    try:
        after = models_markdown()
    finally:
        del registry._MODELS["zz_fake_model"]
    assert after != before
    assert ("| `zz_fake_model` | generative | flexible_generative | reference | `reference` | "
            "A model registered by this test only. |") in after
    assert models_markdown() == before


def test_a_plugin_model_stays_out_of_the_built_in_table():
    def outside(random_state: int):
        """Not ours."""

    entry = registry.make_model(outside, paradigm="discriminative", name="zz_plugin")
    assert "zz_plugin" not in models_markdown([entry])
