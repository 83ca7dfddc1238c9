"""Gradients page in a real browser, as the first page a fresh server ever serves (a deep link).

Contract: a text area "Input (the same for every model)"; one connectivity heatmap per model and state, titled
"<CELL> <trained|at init> · ‖∂y_t/∂x_s‖", whose z is [T][T]; the step and the input land in the URL.
"""

from __future__ import annotations

import re

from .helpers import plotly_charts, wait_for_idle

TYPED = ", ".join(f"{v}:{int(t in (2, 9))}" for t, v in enumerate(
    [0.2, 0.7, 0.9, 0.1, 0.4, 0.3, 0.8, 0.5, 0.6, 0.25, 0.15, 0.05]))  # 12 steps, markers at 2 and 9
MAPS = "‖∂y_t/∂x_s‖"


def _wait_for_maps(page, steps: int) -> list[dict]:
    """Wait until six connectivity maps are drawn, each [steps][steps]; return every chart."""
    page.wait_for_function(
        "([title, n]) => { try { const maps = Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(gd => ((gd.layout.title && gd.layout.title.text) || '').includes(title));"
        "return maps.length === 6 && maps.every(gd => gd._fullData[0].z.length === n"
        " && gd._fullData[0].z[0].length === n); } catch (e) { return false; } }",
        arg=[MAPS, steps], timeout=90_000,
    )
    wait_for_idle(page)
    return plotly_charts(page)


def test_gradients_first_request_type_a_sequence_and_see_the_maps(fresh_server, browser_page):
    page = browser_page
    page.goto(fresh_server + "/Gradients")
    wait_for_idle(page)
    assert "gradients" in page.title().lower(), page.title()

    first = _wait_for_maps(page, 20)  # the adding problem's first example has 20 steps
    assert len(first) == 18, [c["title"] for c in first]

    box = page.get_by_role("textbox", name="Input (the same for every model)")
    box.fill(TYPED)
    box.press("Control+Enter")
    charts = _wait_for_maps(page, 12)
    assert len(charts) == 18, [c["title"] for c in charts]
    maps = [c for c in charts if MAPS in c["title"]]
    assert {re.sub(r"<[^>]*>", "", c["title"]).split(" · ")[0] for c in maps} == {
        f"{cell} {state}" for cell in ("LSTM", "GRU", "RNN") for state in ("trained", "at init")}
    assert all(c["traces"][0]["rows"] == 12 and c["traces"][0]["cols"] == 12 for c in maps), maps
    assert "grad_step=11" in page.url and "grad_text=" in page.url, page.url
    assert "Distance to 1%" in page.inner_text("body")
    assert not page.lstmviz_errors, page.lstmviz_errors
