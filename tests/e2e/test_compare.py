"""Compare page in a real browser, as the first page a fresh server ever serves (a deep link).

Contract: one shared "Step (all models)" slider with "next ▶" / "◀ prev"; every heatmap outlines the current
step with a rectangle (layout.shapes[0], x0 = step − 0.5); at least two models' heatmaps are shown.
"""

from __future__ import annotations

from .helpers import wait_for_idle

_MARKS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .filter(gd => (gd._fullData || []).some(d => d.type === 'heatmap'))
  .map(gd => ({title: ((gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]*>/g, ''),
               x0: gd.layout.shapes && gd.layout.shapes.length ? gd.layout.shapes[0].x0 : null}))"""


def _wait_for_marks(page, step: int) -> list[dict]:
    page.wait_for_function(
        "([js, step]) => { try { const m = eval(js)(); return m.length >= 2 && "
        "m.every(c => c.x0 === step - 0.5); } catch (e) { return false; } }",
        arg=[_MARKS_JS, step], timeout=90_000,
    )
    wait_for_idle(page)
    return page.evaluate(_MARKS_JS)


def test_compare_first_request_steps_the_models_together(fresh_server, browser_page):
    page = browser_page
    page.goto(fresh_server + "/Compare")
    wait_for_idle(page)
    assert "compare" in page.title().lower(), page.title()
    page.get_by_text("Step (all models)").wait_for()

    start = _wait_for_marks(page, 0)
    models = {c["title"].split(" · ")[0] for c in start}
    assert {"A", "B"} <= {m.split()[0] for m in models}, [c["title"] for c in start]

    page.get_by_role("button", name="next ▶").click()
    moved = _wait_for_marks(page, 1)
    assert len(moved) == len(start)
    assert {c["title"].split(" · ")[0] for c in moved} == models
    page.get_by_role("button", name="next ▶").click()
    _wait_for_marks(page, 2)
    assert "Step 2" in page.inner_text("body")
    assert "cmp_step=2" in page.url, page.url

    page.get_by_role("button", name="◀ prev").click()
    _wait_for_marks(page, 1)
    assert not page.lstmviz_errors, page.lstmviz_errors
