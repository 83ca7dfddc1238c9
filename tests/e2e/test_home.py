"""Home page (app.py) in a real browser, as the first page a fresh server ever serves.

Contract: title contains "lstmviz"; a radio "Cell" (LSTM / GRU / RNN); a text input
"Sequence (numbers)" prefilled with numbers; one plotly heatmap per gate, titled with the gate;
each heatmap's z is [units][steps].
"""

from __future__ import annotations

import re

from .helpers import plotly_charts, wait_for_idle


def _wait_for_charts(page, predicate_js: str, arg=None) -> None:
    """Wait until predicate_js(plotly divs, arg) holds; a chart mid-render counts as false."""
    page.wait_for_function(
        "(arg) => { try { return (" + predicate_js + ")("
        "Array.from(document.querySelectorAll('.js-plotly-plot')), arg); } catch (e) { return false; } }",
        arg=arg,
        timeout=60_000,
    )
    wait_for_idle(page)


def test_home_page_first_request_lstm_gru_and_sequence(fresh_server, browser_page):
    page = browser_page
    page.goto(fresh_server)
    wait_for_idle(page)

    assert "lstmviz" in page.title().lower(), page.title()

    # LSTM (the default): one heatmap per gate i f g o plus c and h.
    _wait_for_charts(page, "(gds) => gds.length >= 6")
    lstm = plotly_charts(page)
    assert len(lstm) >= 6, lstm
    assert all(c["title"].strip() for c in lstm), [c["title"] for c in lstm]
    assert any("forget" in c["title"].lower() for c in lstm), [c["title"] for c in lstm]

    seq = page.get_by_label("Sequence (numbers)", exact=True).and_(page.locator("input"))
    assert re.search(r"\d", seq.input_value()), f"sequence input not prefilled: {seq.input_value()!r}"

    # GRU: r z n h, two gates fewer than the LSTM's six.
    radio = page.locator('[data-testid="stRadio"]').filter(has_text="Cell")
    radio.get_by_text("GRU", exact=True).click()
    _wait_for_charts(page, "(gds, n) => gds.length === n", len(lstm) - 2)
    gru = plotly_charts(page)
    assert len(gru) == len(lstm) - 2, [c["title"] for c in gru]
    assert any("reset" in c["title"].lower() for c in gru), [c["title"] for c in gru]

    # Three numbers -> three steps along x: z is [units][steps]. Read z from _fullData (what
    # plotly drew): with plotly >= 6, data[0].z of a numpy-built figure is base64 {dtype, bdata}.
    seq.fill("1, 2, 3")
    seq.press("Enter")
    _wait_for_charts(page, "(gds) => gds.length > 0 && gds[0]._fullData[0].z[0].length === 3")
    steps = page.evaluate("document.querySelectorAll('.js-plotly-plot')[0]._fullData[0].z[0].length")
    assert steps == 3
    assert plotly_charts(page)[0]["traces"][0]["cols"] == 3
    assert len(plotly_charts(page)) == len(gru)

    assert not page.lstmviz_errors, page.lstmviz_errors
