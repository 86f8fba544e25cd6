"""report.html in a real headless Chromium (the system's, driven by Playwright): it loads offline
with no console errors, a header click reorders the leaderboard, and a filter changes the plotted
series.

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

import pytest
from spurbench.report.html import render_html, write_html
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


@pytest.mark.slow
def test_report_html_sorts_and_filters_in_headless_chromium(browser, tmp_path):
    path = write_html(synthetic_results(), tmp_path)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline: nothing may load
    page.goto(path.as_uri())

    def first_column() -> list[str]:
        return page.eval_on_selector_all("#leaderboard tbody tr td:first-child",
                                         "c => c.map(x => x.textContent)")

    before = first_column()
    assert len(before) > 1
    page.click("#leaderboard th[data-key=model]")
    after = first_column()
    assert after == sorted(before, reverse=True) and after != before

    def series() -> set[str]:
        return set(page.eval_on_selector_all("#chart-accuracy path.series",
                                             "p => p.map(x => x.dataset.series)"))

    everything = series()
    paradigm = page.eval_on_selector("#filter-paradigm option:nth-child(2)", "o => o.value")
    page.select_option("#filter-paradigm", paradigm)
    filtered = series()
    assert filtered and filtered < everything
    assert errors == []
    page.close()
