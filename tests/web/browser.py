"""What the browser tests share: Debian's Chromium driven by Playwright (nothing downloads a
browser), a page logged in as a merchant's user, and a screenshot saved when a step fails."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_MS = 20_000  # the longest any one step may take to show up in the page


class Account(Protocol):
    """Who logs in: a merchant's user (MerchantAccount), or an admin."""

    @property
    def email(self) -> str: ...

    @property
    def password(self) -> str: ...


def dev_script() -> Any:
    """server/dev.py as a module (it builds the dashboard)."""
    spec = importlib.util.spec_from_file_location("paysim_dev_for_browser", ROOT / "server" / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def screenshot_on_failure(page: Any, directory: Path, console: list[str]) -> Iterator[None]:
    try:
        yield
    except BaseException as error:
        shot = directory / "dashboard-failure.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            where = f"screenshot: {shot}"
        except Exception as shot_error:  # the page may be gone: say so rather than hide the failure
            where = f"no screenshot ({shot_error})"
        log = "\n".join(console[-20:])
        raise AssertionError(f"{error}\n{where}\nbrowser console:\n{log}") from error


def open_logged_in(browser: Any, base: str, shop: Account) -> tuple[Any, Any, list[str]]:
    """A new browser context with the dashboard open and logged in as the account."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    page.goto(base + "/")
    page.fill("#email", shop.email)
    page.fill("#password", shop.password)
    page.click("#login")
    page.wait_for_selector("#payments")
    return context, page, console
