"""Fixtures for the browser tests in tests/e2e (all marked `e2e`; they run in CI, never skip).

- fresh_server: a brand-new `streamlit run app.py` per test; yields its base URL.
- browser_page: a playwright page in Debian chromium, 1400x1000, 60 s default timeout.
- helpers.wait_for_idle(page): wait until the app finished running and nothing is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import (
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    ROOT,
    VIEWPORT,
    chromium_path,
    start_server,
)

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "out" / "e2e"  # screenshots of failed tests (git-ignored)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # lets fixtures see whether the test failed
    return report


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture
def fresh_server(request):
    """Base URL ("http://127.0.0.1:PORT") of a streamlit server started for this test only.

    Nothing but /_stcore/health has been asked of it, so the test's first page (home or a
    deep link such as base + "/Inspector") is the server's first page request.
    """
    with start_server() as server:
        yield server.url
        if _failed(request):
            print(f"----- streamlit log ({server.url}) -----\n{server.log()}")


@pytest.fixture(scope="session")
def _browser():
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def browser_page(_browser, request):
    """A fresh playwright page (own context); page errors are kept in page.lstmviz_errors."""
    context = _browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    page.lstmviz_errors = []
    page.on("pageerror", lambda exc: page.lstmviz_errors.append(str(exc)))
    yield page
    if _failed(request):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        shot = ARTIFACTS / f"{name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failed page: {shot}")
        except Exception as exc:  # the page may be gone; the log matters more
            print(f"no screenshot: {exc}")
        if page.lstmviz_errors:
            print("page errors:\n" + "\n".join(page.lstmviz_errors))
    context.close()
