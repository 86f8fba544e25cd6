"""The built-in models table of docs/models.md, generated from the registry.

Why: adding a model must be its module and one decorator. The table (name, paradigm, group,
panel or reference, tags, one line) is written by `models_markdown` from the registered entries;
`tools/docs_blocks.py` rewrites the block between ``<!-- models:start -->`` and
``<!-- models:end -->`` and a test keeps the committed block equal to this output. Only models
whose factory lives in this package are listed (no plugins, no `--model` references).
"""

from __future__ import annotations

from spurbench.registry import PANEL, ModelEntry, list_models

MARKERS = ("<!-- models:start -->", "<!-- models:end -->")


def _built_in(entry: ModelEntry) -> bool:
    return getattr(entry.factory, "__module__", "").startswith("spurbench.models.")


def _role(entry: ModelEntry) -> str:
    if entry.name in PANEL:
        return "panel"
    return "reference" if entry.reference else "extra"


def models_markdown(entries: list[ModelEntry] | None = None) -> str:
    """The table of built-in models, by paradigm then name (`registry.list_models`' order)."""
    entries = [e for e in (list_models() if entries is None else entries) if _built_in(e)]
    lines = ["| model | paradigm | group | role | tags | description |", "|---|---|---|---|---|---|"]
    for e in entries:
        tags = ", ".join(f"`{t}`" for t in sorted(e.tags))
        description = e.description.replace("|", "\\|")
        lines.append(f"| `{e.name}` | {e.paradigm} | {e.group} | {_role(e)} | {tags} | {description} |")
    return "\n".join(lines)
