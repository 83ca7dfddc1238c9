"""Train page in a real browser, as the first page a fresh server serves: train tiny models, see them
listed for this session on other pages and offered by the Inspector's model picker (pages reached by
the sidebar, so the session is the same), then
come back (the settings are still there), start a long run and Stop it: the model trained so far is kept.
"""

from __future__ import annotations

import re

from .helpers import wait_for_idle


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_for_idle(page)


def _your_models(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_train_page_first_request_trains_keeps_and_stops(fresh_server, browser_page):
    page = browser_page
    page.goto(fresh_server + "/Train")
    wait_for_idle(page)
    assert "Train your own models" in page.locator("h1").first.inner_text()
    assert "No models yet" in _your_models(page)

    page.locator('[data-testid="stSelectbox"]').filter(has_text="Task").click()
    page.get_by_role("option", name="brackets", exact=True).click()
    wait_for_idle(page)
    for label, value in {"Hidden size": 4, "Epochs": 1, "Steps per epoch": 3, "Batch size": 4}.items():
        _set_number(page, label, value)

    page.get_by_role("button", name="Train", exact=True).click()
    page.locator("strong", has_text="brackets · LSTM 4×1 · seed 0 · #1").wait_for(timeout=120_000)
    wait_for_idle(page)
    text = _your_models(page)
    assert "brackets · RNN 4×1 · seed 0 · #1" in text
    assert page.get_by_role("button", name="Download .pt").count() == 2
    # per model: its loss/metric curves and the training view (‖∂L/∂h_s‖ per epoch)
    assert len(page.locator(".js-plotly-plot").all()) == 4
    assert page.locator(".js-plotly-plot").filter(has_text="of the top layer, epoch by epoch").count() == 2

    # Another page of the same browser session (sidebar link, not a new URL) lists them too.
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Upload").click()
    page.get_by_text("Bring your own model").first.wait_for()
    wait_for_idle(page)
    assert "brackets · LSTM 4×1 · seed 0 · #1" in _your_models(page)
    assert "brackets · RNN 4×1 · seed 0 · #1" in _your_models(page)

    # ... and a page with a model picker offers them; choosing one shows it.
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Inspector").click()
    wait_for_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name="yours · brackets · LSTM 4×1 · seed 0 · #1", exact=True).click()
    wait_for_idle(page)
    assert page.get_by_role("combobox", name="Model").input_value() == "yours · brackets · LSTM 4×1 · seed 0 · #1"

    # Back on Train: a long run, stopped while the LSTM trains, keeps the LSTM as trained so far.
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Train").click()
    page.get_by_text("Train your own models").first.wait_for()
    wait_for_idle(page)
    assert page.get_by_role("combobox", name="Task").input_value() == "brackets"
    assert page.get_by_label("Hidden size", exact=True).input_value() == "4"  # settings survive the trip
    _set_number(page, "Epochs", 50)
    _set_number(page, "Steps per epoch", 500)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"training LSTM \(1 of 2\) · [1-9]\d*/50000 steps")).wait_for(timeout=60_000)
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text(re.compile(r"^Stopped\. Kept 1 model\(s\) as trained so far")).wait_for(timeout=60_000)
    wait_for_idle(page)
    text = _your_models(page)
    assert re.search(r"brackets · LSTM 4×1 · seed 0 · #2 · stopped at step \d+/25000", text), text
    assert "RNN 4×1 · seed 0 · #2" not in text
    assert page.get_by_role("button", name="Download .pt").count() == 3
    assert not page.lstmviz_errors, page.lstmviz_errors
