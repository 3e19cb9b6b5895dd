"""Fixtures of the browser tests: the dashboard's build and a headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import CHROMIUM, CHROMIUM_FLAGS, dev_script


@pytest.fixture(scope="module")
def built_dashboard() -> Path:
    """The dashboard's build, made by server/dev.py when missing or stale (as `serve` does)."""
    dev = dev_script()
    assert dev.ensure_dashboard() == 0, "building clients/dashboard failed (see the output above)"
    return Path(dev.DASHBOARD_BUILD)


@pytest.fixture(scope="module")
def playwright_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `python3 server/dev.py test` installs it (apt-get)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    # launch() gives the browser a fresh, empty profile directory of its own (its --user-data-dir).
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()
