"""The browser tests' fixtures (Debian's Chromium through Playwright; see services/web/tests/browser.py)."""

from services.web.tests.browser import _chromium, _page, _page_without_js  # noqa: F401 - fixtures by their names
