"""Rewrite the generated reference blocks of the docs from the code's declarations.

Why a tool: the per-family reference of datasets/README.md and the built-in models table of
docs/models.md must come from the registered families, their specs and the registered models,
never be typed in. After adding or changing a family, a model or a spec:

    python tools/docs_blocks.py          # rewrite the blocks
    python tools/docs_blocks.py --check  # exit 1 if a block is stale

`tests/test_docs_blocks.py` checks that the committed blocks equal what this writes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from spurbench.generators import reference as families
from spurbench.harness.spec import load_scenarios
from spurbench.models import reference as models

ROOT = Path(__file__).resolve().parent.parent


def replace_block(text: str, body: str, markers: tuple[str, str]) -> str:
    """`text` with the lines between `markers` replaced by `body` (both markers must be there)."""
    start, end = markers
    head, found, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found or not found_end:
        raise SystemExit(f"markers {start} / {end} not found")
    return f"{head}{start}\n{body}\n{end}{tail}"


def blocks(root: Path = ROOT) -> list[tuple[Path, tuple[str, str], Callable[[], str]]]:
    """(file, markers, generator of its block) for every generated block."""
    return [(root / "datasets" / "README.md", families.MARKERS,
             lambda: families.families_markdown(load_scenarios([root / "datasets"]))),
            (root / "docs" / "models.md", models.MARKERS, models.models_markdown)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale blocks (exit 1)")
    args = parser.parse_args(argv)
    stale = []
    for path, markers, make in blocks():
        text = path.read_text()
        new = replace_block(text, make(), markers)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'rewritten'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
