"""The docs cannot go stale: every command they show exists, every link resolves, and a finished
run leaves exactly the files the README's table lists.

Commands are read from README.md and docs/*.md, in code blocks (a line, with its `\\`
continuations) and in inline code: `spurbench ...` or `python -m spurbench ...` lines, and
`make ...` targets. A command that only reads is run; the others are parsed by the real parser,
without running, since their examples name models and files a reader creates.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from spec_helpers import write_spec
from spurbench.interface.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PREFIXES = ("spurbench ", "python -m spurbench ", "python -m spurbench ")
# a synopsis line names placeholders and alternatives instead of values: checked for its
# subcommand and options, not parsed as a command
SYNOPSIS = re.compile(r"[\[\]|]|\.\.\.|\b(SPEC|DIR|NAME|MODEL|ADDRESS|HOST|TARGET)\b")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _code_lines(text: str) -> list[str]:
    """Lines of fenced code blocks (a `\\` or indented continuation joined to its line) and
    inline code spans."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            if lines and (lines[-1].endswith("\\") or line[:1].isspace()):  # a continuation
                lines[-1] = lines[-1].removesuffix("\\") + " " + line.strip()
            else:
                lines.append(line.strip())
    inline = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
    return [*lines, *inline]


def _strip(line: str) -> str:
    """The command of a line: no prompt, no leading VAR=value assignments, no trailing comment."""
    line = line.removeprefix("$ ").split(" #")[0].strip()
    while re.match(r"^[A-Z_]+=\S+ ", line):
        line = line.split(" ", 1)[1]
    return line


def _commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for line in _code_lines(doc.read_text()):
            command = _strip(line)
            if command.startswith(PREFIXES) or re.match(r"^make( |$)", command):
                found.append((doc.relative_to(ROOT).as_posix(), command))
    return found


def _cli_args(command: str) -> list[str]:
    prefix = next(p for p in PREFIXES if command.startswith(p))
    return shlex.split(command[len(prefix):])


def _cli_commands() -> list[tuple[str, str]]:
    return [(doc, command) for doc, command in _commands() if command.startswith(PREFIXES)]


@cache
def _help(*args: str) -> str:
    """`spurbench ARGS --help`, run as a user runs it; the exit status must be 0."""
    proc = subprocess.run([sys.executable, "-m", "spurbench", *args, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"spurbench {' '.join(args)} --help: {proc.stderr}"
    return proc.stdout


def _subcommands() -> list[str]:
    usage = re.search(r"\{([a-z,-]+)\}", _help()).group(1)
    return usage.split(",")


def test_the_docs_show_commands_at_all():
    commands = _commands()
    assert any(c.startswith("make bench") for _, c in commands)
    assert any(c.startswith("spurbench run") for _, c in commands)


def test_top_level_help_lists_every_subcommand():
    text = _help()
    description = text.split("\n\n")[1]  # after the usage, before the argument lists
    assert description.startswith("spurbench command line")
    words = set(re.split(r"[\s|:.]+", description))
    for sub in _subcommands():
        assert sub in words, f"the description of `spurbench --help` omits {sub}"
        assert re.search(rf"^    {re.escape(sub)}\s", text, re.M), f"{sub} has no help line"


@pytest.mark.parametrize(("doc", "command"), _cli_commands())
def test_every_shown_command_exists_and_its_options_too(doc, command):
    """The subcommand answers `--help`, every `--option` shown is in that help, and a command
    that is not a synopsis parses with the real parser (nothing runs)."""
    args = _cli_args(command)
    if args[0].startswith("-"):  # a top-level option
        assert args[0] in _help(), f"{doc}: {command}"
        return
    assert args[0] in _subcommands(), f"{doc}: `{command}`: no subcommand {args[0]!r}"
    text = _help(args[0])
    for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command):
        assert option in text, f"{doc}: `{command}`: {args[0]} has no option {option}"
    # a bare `spurbench report` in prose names the subcommand; `--help` was run above
    if len(args) > 1 and "--help" not in args and not SYNOPSIS.search(command):
        try:
            build_parser().parse_args(args)
        except SystemExit as exc:
            pytest.fail(f"{doc}: `{command}` does not parse (exit {exc.code})")


def _runs_here(args: list[str]) -> bool:
    """Commands that only read (list, validate, leaderboard) or run a tiny grid (check-model of a
    registered model), on paths that exist in the repository: cheap enough to run for real."""
    if SYNOPSIS.search(" ".join(args)) or args[0] not in ("list", "validate", "leaderboard",
                                                          "check-model"):
        return False
    if args[0] == "check-model":
        return ":" not in args[1]
    return args[0] == "list" or all((ROOT / a).exists() for a in args[1:] if not a.startswith("-"))


@pytest.mark.parametrize("command", sorted({" ".join(_cli_args(c)) for _, c in _cli_commands()
                                            if _runs_here(_cli_args(c))}))
def test_shown_commands_that_only_read_run_and_exit_0(command):
    proc = subprocess.run([sys.executable, "-m", "spurbench", *shlex.split(command)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"spurbench {command}: {proc.stderr}"


PYTHON_EXAMPLES = [(doc.relative_to(ROOT).as_posix(), block) for doc in DOCS
                   for block in re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)]


@pytest.mark.parametrize(("doc", "block"), PYTHON_EXAMPLES)
def test_python_examples_compile(doc, block):
    compile(block, f"{doc} example", "exec")


@pytest.mark.parametrize(("doc", "command"),
                         [(d, c) for d, c in _commands() if c.startswith("make")])
def test_every_shown_make_target_exists(doc, command):
    makefile = (ROOT / "Makefile").read_text()
    targets = [word for word in shlex.split(command)[1:] if "=" not in word]
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{doc}: make {target}"


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", path.read_text(), flags=re.S),
                          re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(doc):
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        assert resolved.exists(), f"{doc.name}: link {target!r} points to nothing"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{doc.name}: link {target!r}: no such heading"


def test_readme_is_a_one_page_quickstart():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert readme.count("<!-- results:start -->") == readme.count("<!-- results:end -->") == 1


def _listed_run_files() -> set[str]:
    """The names in the first column of the README's table of a run directory's files."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| file | what it is |", 1)[1].split("\n\n", 1)[0]
    return {name.rstrip("/") for name in re.findall(r"^\| `([^`]+)` \|", table, re.M)}


def test_a_finished_run_leaves_exactly_the_files_the_readme_lists(tmp_path):
    """No SQLite `-wal`/`-shm` file and no `.lock` after the run; everything else is named."""
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    assert main(["run", str(spec), "--models", "gaussian_nb,logistic_regression", "--out",
                 str(out), "--jobs", "1", "--no-progress"]) == 0
    assert {p.name for p in out.iterdir()} == _listed_run_files()
    assert main(["leaderboard", str(out)]) == 0  # readers leave nothing behind either
    assert {p.name for p in out.iterdir()} == _listed_run_files()


def test_a_lock_left_by_a_killed_run_neither_blocks_nor_stays(tmp_path):
    """SIGKILL leaves `.lock` behind (no release runs); the next run takes it and removes it."""
    from spurbench.harness.store import LOCK_NAME, ResultStore, StoreLockedError

    (tmp_path / LOCK_NAME).write_text("")
    with ResultStore(tmp_path):
        assert (tmp_path / LOCK_NAME).exists()
        with pytest.raises(StoreLockedError), ResultStore(tmp_path):
            pass
    assert not (tmp_path / LOCK_NAME).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]


def test_the_prose_about_the_reference_run_is_what_tools_paper_docs_writes_from_it():
    """results/paper/README.md and README.md's results block are generated from the stored run
    (report.md, run.json, the rows): a number typed in by hand, or left stale by a rerun, fails."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("paper_docs", ROOT / "tools" / "paper_docs.py")
    paper_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(paper_docs)
    paper = ROOT / "results" / "paper"
    assert (paper / "README.md").read_text() == paper_docs.paper_readme(paper)
    assert paper_docs.readme_block(paper) in (ROOT / "README.md").read_text()
