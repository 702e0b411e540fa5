"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

The browser is Debian's /usr/bin/chromium (never a downloaded one). Without it the tests are
skipped on a developer machine, but fail under CI=true, where they must run. A failing test
leaves a full-page screenshot in test-artifacts/.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    # Lets the `page` fixture know, at teardown, whether the test itself failed.
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (install Debian's chromium package)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI=true the browser tests must run", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, request) -> Iterator:
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()


@pytest.fixture
def staff_user(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser(
        "marketing", "marketing@example.com", "a-long-test-password"
    )


@pytest.fixture
def logged_in_page(page, live_server, staff_user):
    """A page logged into the admin through the login form."""
    admin_log_in(page, live_server.url, "marketing", "a-long-test-password")
    return page


def admin_log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
