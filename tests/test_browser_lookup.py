"""`make test` on a machine without a browser: the browser test is skipped with its reason in
pytest's summary, unless `SPURBENCH_REQUIRE_BROWSER=1` (as `.ci/run` sets) turns it into a failure.
Each case runs the browser test in a pytest subprocess with the lookup pointed at a missing file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSER_TEST = ("tests/test_report_html.py::"
                "test_report_html_opens_on_the_answer_ranks_the_panel_first_and_filters_the_table")


def run_browser_test(**env: str) -> subprocess.CompletedProcess:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("SPURBENCH_")} | env
    return subprocess.run([sys.executable, "-m", "pytest", BROWSER_TEST, "-p", "no:cacheprovider"],
                          cwd=ROOT, env=variables, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_missing_browser_skips_the_browser_test_with_a_one_line_reason():
    done = run_browser_test(SPURBENCH_CHROMIUM="/nonexistent/chromium")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(summary) == 1, done.stdout
    assert "SPURBENCH_CHROMIUM=/nonexistent/chromium is not a file" in summary[0]
    assert "1 skipped" in done.stdout


@pytest.mark.slow
def test_a_missing_browser_fails_the_browser_test_when_it_is_required():
    done = run_browser_test(SPURBENCH_CHROMIUM="/nonexistent/chromium", SPURBENCH_REQUIRE_BROWSER="1")
    assert done.returncode == 1, done.stdout + done.stderr
    reason = "browser test required (SPURBENCH_REQUIRE_BROWSER=1) but SPURBENCH_CHROMIUM=/nonexistent/"
    assert reason in done.stdout
    assert "1 error" in done.stdout or "1 failed" in done.stdout


def test_the_lookup_tries_the_system_chromium_then_path_and_says_where_it_looked(monkeypatch, tmp_path):
    import test_report_html as browser_test

    monkeypatch.delenv("SPURBENCH_CHROMIUM", raising=False)
    monkeypatch.setattr(browser_test, "SYSTEM_CHROMIUM", tmp_path / "missing" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path))
    found, reason = browser_test.find_chromium()
    assert found is None
    assert reason == (f"no Chromium at {tmp_path / 'missing' / 'chromium'} or on PATH "
                      "(`make test` installs it with apt as root)")
    on_path = tmp_path / "chromium"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    assert browser_test.find_chromium() == (on_path, "")
