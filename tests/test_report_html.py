"""report.html in a real headless Chromium (the system's, driven by Playwright): it loads offline
with no console errors and opens on the answer; the leaderboard ranks the panel first under any
sort, with integer counts and rank intervals; the charts draw the four group means in the PNGs'
colours, models on a toggle; and the filters change the table as well as the charts.

The browser is `SPURBENCH_CHROMIUM` when set, else /usr/bin/chromium, else `chromium` on PATH
(`make test` installs it with apt when it runs as root). Without one the browser test is skipped
with a one-line reason in pytest's summary; `SPURBENCH_REQUIRE_BROWSER=1` (set by `.ci/run`) makes
that a failure, so CI always drives the browser.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from spurbench.registry import GROUPS
from spurbench.report.html import markdown_html, render_html, write_html
from spurbench.report.leaderboard import leaderboard, scenario_values
from spurbench.report.prepare import as_ranked, at_largest_n_train, panel
from spurbench.report.summaries import group_colour
from synthetic_results import synthetic_results

BROWSER_VARIABLE = "SPURBENCH_CHROMIUM"
REQUIRE_VARIABLE = "SPURBENCH_REQUIRE_BROWSER"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


def find_chromium() -> tuple[Path | None, str]:
    """The browser to drive, or None with the one-line reason there is none."""
    named = os.environ.get(BROWSER_VARIABLE, "")
    if named:
        found = Path(named)
        return (found, "") if found.is_file() else (None, f"{BROWSER_VARIABLE}={named} is not a file")
    on_path = shutil.which("chromium")
    if SYSTEM_CHROMIUM.is_file() or on_path:
        return (SYSTEM_CHROMIUM if SYSTEM_CHROMIUM.is_file() else Path(on_path)), ""
    return None, f"no Chromium at {SYSTEM_CHROMIUM} or on PATH (`make test` installs it with apt as root)"


def test_page_is_self_contained():
    page = render_html(synthetic_results(), "t")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no CDN, no remote asset
    assert "</script>" not in page.split('<script id="data"')[1].split("</script>")[0]


@pytest.fixture(scope="module")
def browser():
    chromium, reason = find_chromium()
    if chromium is None and os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"browser test required ({REQUIRE_VARIABLE}=1) but {reason}", pytrace=False)
    if chromium is None:
        pytest.skip(f"browser test skipped: {reason}; {REQUIRE_VARIABLE}=1 makes this a failure")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        yield browser
        browser.close()


SUMMARY = ["## Summary", "", "*The question?*", "", "**Answer** (primary claims):", "",
           "- drop: -1.02 points (95% CI -2.28 to +0.24): no clear difference.",
           "- accuracy at the largest shift: +2.28 points (95% CI +0.58 to +3.98).", "",
           "Details: [design](#design); [experiments.md](experiments.md)."]


def test_summary_markdown_becomes_html_with_anchors_into_report_md():
    page = markdown_html(SUMMARY)
    assert page.startswith("<h2>Summary</h2><p><em>The question?</em></p><p><strong>Answer</strong>")
    assert "<ul><li>drop: -1.02 points (95% CI -2.28 to +0.24): no clear difference.</li><li>" in page
    assert '<a href="report.md#design">design</a>' in page and '<a href="experiments.md">' in page
    assert markdown_html(["a <b> & `c`"]) == "<p>a &lt;b&gt; &amp; <code>c</code></p>"


def _rows(page) -> list[dict]:
    """The table's rows as {column: text} plus their class."""
    return page.eval_on_selector_all("#leaderboard tbody tr", """rows => rows.map(r => {
        const cells = [...r.children].map(c => c.textContent);
        const heads = [...document.querySelectorAll('#leaderboard th')].map(h => h.dataset.key);
        return Object.assign({class: r.className}, ...heads.map((h, i) => ({[h]: cells[i]})));
    })""")


def _series(page) -> set[str]:
    return set(page.eval_on_selector_all("#chart-accuracy path.series", "p => p.map(x => x.dataset.series)"))


def _panel_first(rows: list[dict]) -> bool:
    flags = [r["reference"] for r in rows]
    return flags == sorted(flags) and flags[0] == "0" and flags[-1] == "1"


@pytest.mark.slow
def test_report_html_opens_on_the_answer_ranks_the_panel_first_and_filters_the_table(browser, tmp_path):
    frame = as_ranked(synthetic_results())
    path = write_html(frame, tmp_path, SUMMARY)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline: nothing may load
    page.goto(path.as_uri())

    # the answer comes first, before the leaderboard
    assert page.eval_on_selector("body", "b => b.children[1].id") == "summary"
    assert "95% CI -2.28 to +0.24" in page.inner_text("#summary")

    # default order: the panel first, ranked 1..n with integer counts; reference rows after, unranked
    rows = _rows(page)
    board = leaderboard(frame)
    assert [r["model"] for r in rows] == board["model"].tolist()
    assert _panel_first(rows)
    panel = [r for r in rows if r["reference"] == "0"]
    assert [int(r["rank"].split()[0]) for r in panel] == sorted(int(r["rank"].split()[0]) for r in panel)
    assert panel[0]["rank"].startswith("1") and all(r["rank"] == "" for r in rows if r["reference"] == "1")
    assert all(re.fullmatch(r"\d+", r["scenarios"]) for r in rows)  # counts are integers, not "15.000"
    assert any("tied" in r["rank"] for r in panel)  # the synthetic panel has overlapping intervals

    # a header sorts, and the panel stays first
    page.click("#leaderboard th[data-key=model]")
    rows = _rows(page)
    assert _panel_first(rows)
    panel_names = [r["model"] for r in rows if r["reference"] == "0"]
    assert panel_names == sorted(panel_names, reverse=True)

    # charts: the four group means by default, in the PNGs' group colours
    assert _series(page) == set(GROUPS)
    colours = page.eval_on_selector_all("#chart-accuracy path.series",
                                        "p => p.map(x => x.getAttribute('stroke'))")
    assert set(colours) == {to_hex(group_colour(g)) for g in GROUPS}

    # a paradigm filter narrows the table and the charts alike
    page.select_option("#filter-paradigm", "discriminative")
    rows = _rows(page)
    assert rows and {r["paradigm"] for r in rows} == {"discriminative"}
    assert len(rows) < len(board)
    assert _series(page) == {g for g in GROUPS if g.endswith("_discriminative")}

    # the model toggle: one line per model of the selection
    page.check("input[name=view][value=models]")
    assert _series(page) == {r["model"] for r in rows if r["model"] in set(frame["model"])}

    # a scenario filter: the table holds that scenario's means over seeds, ranked within it
    page.select_option("#filter-paradigm", "")
    page.select_option("#filter-scenario", "group_shift")
    rows = _rows(page)
    assert {r["scenarios"] for r in rows} == {"1"} and _panel_first(rows)
    expected = scenario_values(frame).query("scenario == 'group_shift'").set_index("model")["accuracy_shift"]
    shown = {r["model"]: float(r["accuracy_shift"]) for r in rows}
    assert shown == pytest.approx(expected.round(3).to_dict(), abs=1e-9)
    panel = [r for r in rows if r["reference"] == "0"]
    values = {r["model"]: expected[r["model"]] for r in panel}
    assert {r["model"]: int(r["rank"]) for r in panel} == {  # 1 = best mean within the scenario
        m: 1 + sum(o > v for o in values.values()) for m, v in values.items()}
    assert _series(page) <= set(frame.loc[frame["scenario"] == "group_shift", "model"])
    assert errors == []
    page.close()


@pytest.mark.slow
def test_group_lines_are_family_weighted_means_of_panel_fits_at_shared_levels(browser, tmp_path):
    frame = synthetic_results(n_scenarios=6, levels=(0.0, 0.5, 1.0))
    # one scenario lists an extra level: no line may show it, since the others do not average there
    frame = pd.concat([frame, frame[(frame["scenario"] == "group_shift") & (frame["shift"] == 1.0)]
                       .assign(shift=0.75)], ignore_index=True)
    page = browser.new_page()
    page.goto(write_html(frame, tmp_path).as_uri())
    shown = {line["name"]: line for line in page.evaluate("selectedLines()")}
    rows = at_largest_n_train(panel(frame[frame["status"] == "ok"]))
    per_scenario = rows.groupby(["group", "family", "scenario", "model", "shift"])["accuracy"].mean() \
        .groupby(["group", "family", "scenario", "shift"]).mean()  # a scenario: the mean of its models
    expected = per_scenario.groupby(["group", "family", "shift"]).mean().groupby(["group", "shift"]).mean()
    assert set(shown) == set(rows["group"])
    for group, line in shown.items():
        assert line["shift"] == [0.0, 0.5, 1.0]
        assert line["accuracy"] == pytest.approx(expected[group].loc[[0.0, 0.5, 1.0]].tolist(), abs=1e-6)
    page.close()
