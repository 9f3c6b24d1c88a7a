"""Debian's Chromium driven by Playwright, for the web's browser tests and the journey in tests/.

One Chromium per test session (`chromium`); each test gets its own browser context, so cookies never
leak from one test to another: `page` (JavaScript on, as most people have it) and `page_without_js`
(to show that every form works without it). `assert_accessible` runs axe-core's WCAG 2.1 A and AA
rules on what the page shows; `assert_no_browser_errors` fails on a script error or a Content
Security Policy refusal (an inline script or style slipping into a template shows up here).

Playwright's own browser download is never used: `.ci/run` installs the Debian package `chromium`
and `make install` runs `npm ci` in services/web, which brings axe-core.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

WEB = Path(__file__).resolve().parent.parent
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
# The README's pictures are retaken with `make screenshots`; an ordinary test run writes them aside, so it
# leaves the working tree as it found it.
SCREENSHOTS = (
    WEB.parent.parent / "docs" / "screenshots"
    if os.environ.get("MEETMALMO_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "meetmalmo-screenshots"
)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # tests run as root in CI, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORT = {"width": 1200, "height": 900}
STEP_TIMEOUT_MS = 15_000  # one click or page load; they take well under a second


@pytest.fixture(scope="session", name="chromium")
async def _chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, started once per test session (about a second)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "the browser tests need Debian's Chromium, and `chromium` is not on PATH: "
            "`.ci/run` installs the Debian package `chromium` (apt-get install chromium)"
        )
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: `make install` runs `npm ci` in services/web (it needs npm)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_context(browser: Browser, *, javascript: bool = True, language: str = "sv-SE") -> BrowserContext:
    """A fresh browser profile: no cookies, the given Accept-Language, JavaScript on or off."""
    context = await browser.new_context(java_script_enabled=javascript, locale=language, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


@pytest.fixture(name="page")
async def _page(chromium: Browser) -> AsyncIterator[Page]:
    """A page in a browser context of its own, JavaScript on; script errors and CSP refusals are recorded."""
    context = await new_context(chromium)
    page = await context.new_page()
    watch_for_errors(page)
    try:
        yield page
    finally:
        await context.close()


@pytest.fixture(name="page_without_js")
async def _page_without_js(chromium: Browser) -> AsyncIterator[Page]:
    """A page in a browser context with JavaScript disabled (htmx never loads)."""
    context = await new_context(chromium, javascript=False)
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()


# --- what the browser says went wrong -------------------------------------------------------------

_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def watch_for_errors(page: Page) -> None:
    """Record the page's uncaught script errors and console errors (CSP refusals are console errors)."""
    errors = _ERRORS[page] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))


def assert_no_browser_errors(page: Page, status: int = 200) -> None:
    """Nothing went wrong in the page's scripts, styles or loads; a page meant to answer `status` (a refused
    form's 422, a missing page's 404) is logged by Chromium as a failed load, which is no error here."""
    expected = f"Failed to load resource: the server responded with a status of {status} "
    real = [e for e in _ERRORS.get(page, []) if status < 400 or expected not in e]
    assert real == [], f"{page.url}: the browser reported\n" + "\n".join(real)


# --- accessibility --------------------------------------------------------------------------------


async def assert_accessible(page: Page) -> None:
    """axe-core's WCAG 2.1 A and AA rules on the page as shown: no violations, or fail listing each one
    (rule, impact, what it asks for, the elements' selectors)."""
    # Not page.add_script_tag: it adds an inline <script>, which the page's CSP rightly refuses. Evaluated
    # through the DevTools protocol, axe runs beside the page's own scripts without weakening the policy.
    if not await page.evaluate("() => typeof axe !== 'undefined'"):
        await page.evaluate(_axe_source())
    result: dict[str, Any] = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG
    )
    violations = result["violations"]
    assert violations == [], f"axe: {len(violations)} WCAG 2.1 A/AA violations on {page.url}\n" + "\n".join(
        describe(violation) for violation in violations
    )


@functools.cache
def _axe_source() -> str:
    return AXE.read_text()


def describe(violation: dict[str, Any]) -> str:
    targets = [json.dumps(node["target"]) for node in violation["nodes"]]
    return f"- {violation['id']} ({violation['impact']}): {violation['help']}; at {', '.join(targets)}"


# --- the keyboard ---------------------------------------------------------------------------------


async def focused(page: Page) -> dict[str, Any]:
    """What has the keyboard focus: tag, id, name, type, value, class and text."""
    return await page.evaluate(  # type: ignore[no-any-return]
        """() => { const e = document.activeElement; return e && {
            tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name'), type: e.getAttribute('type'),
            value: e.getAttribute('value'), cls: e.className, text: (e.innerText || '').trim() }; }"""
    )


async def tab_to(page: Page, *, name: str | None = None, value: str | None = None, text: str | None = None,
                 limit: int = 150) -> dict[str, Any]:  # fmt: skip
    """Press Tab until the focused control has this `name` (and `value`), or shows `text`; fail after `limit`."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        now = await focused(page)
        if (
            now
            and (name is None or now["name"] == name)
            and (value is None or now["value"] == value)
            and (text is None or text in now["text"])
        ):
            return now
    raise AssertionError(f"Tab never reached name={name!r} value={value!r} text={text!r} on {page.url}")


async def assert_skip_link_leads_to_main(page: Page) -> None:
    """The first Tab stop is the skip link; Enter on it moves the focus to the main content."""
    await page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    await page.keyboard.press("Tab")
    first = await focused(page)
    assert first["cls"] == "skip-link", f"the first Tab stop on {page.url} is {first}, not the skip link"
    await page.keyboard.press("Enter")
    assert (await focused(page))["id"] == "main", f"the skip link on {page.url} did not move the focus to main"


# --- screenshots for the README -------------------------------------------------------------------


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """docs/screenshots/<name>.png: the page as it is now, whole or what the window shows (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
    return path
