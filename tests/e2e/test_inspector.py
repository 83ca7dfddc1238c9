"""The Inspector in a real browser, opened as the first page request of a fresh server.

The user picks the untrained seeded LSTM, types a sequence, steps with the slider, the Next button
and a click on a token; after each, the highlighted step moves and the diagram's numbers are
those of `lstmviz.trace` for that step. Then Play animates the diagram to the last step in the browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from lstmviz import trace
from lstmviz.checkpoints import RecurrentSpec

from .helpers import wait_for_idle

SEQUENCE = "0.5, -1, 2, 0, 1.5, -0.5"

# The diagram (title "LSTM cell ..."), its live values and the step highlighted in the other views.
_STATE_JS = """
() => {
  const gds = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const title = gd => {  // Streamlit's theme wraps titles in <b>
    const t = gd.layout && gd.layout.title;
    return String((t && (t.text || t)) || '').replace(/<[^>]+>/g, '');
  };
  const diagram = gds.find(gd => title(gd).startsWith('LSTM cell'));
  const heatmap = gds.find(gd => title(gd).startsWith('forget gate f'));
  const text = gds.find(gd => title(gd).startsWith('the input coloured by'));
  if (!diagram || !heatmap || !text || !diagram._fullData || !text._fullData) return null;
  const live = diagram.data.find(d => d.name === 'live values');
  const widths = text._fullData[0].marker.line.width;
  return {
    title: title(diagram),
    values: Object.fromEntries(live.customdata),
    labels: Object.fromEntries(live.customdata.map((p, k) => [p[0], live.text[k]])),
    heatmapStep: (heatmap.layout.shapes[0].x0 + heatmap.layout.shapes[0].x1) / 2,
    textStep: Array.from(widths).indexOf(3),
  };
}
"""


def _state(page, step: int) -> dict:
    """Wait until every view shows `step`, then return what the page shows."""
    page.wait_for_function(
        "([js, step]) => { try { const s = eval(js)(); return s !== null && s.title.includes('step ' + step + ':')"
        " && s.heatmapStep === step && s.textStep === step; } catch (e) { return false; } }",
        arg=[_STATE_JS, step], timeout=60_000)
    wait_for_idle(page)
    return page.evaluate(_STATE_JS)


def _expected(unit: int, step: int) -> dict[str, float]:
    torch.manual_seed(0)
    module = RecurrentSpec("lstm", 1, 8).build().eval()
    x = torch.tensor([[float(v)] for v in SEQUENCE.split(",")])
    tr = trace(module, x)
    return {gate: float(tr.get(0, "fwd", gate)[step, unit]) for gate in tr.gates} | {
        "c_prev": float(tr.get(0, "fwd", "c")[step - 1, unit]) if step else 0.0}


def _check(shown: dict, step: int) -> dict[str, float]:
    unit = int(re.search(r"unit (\d+)", shown["title"]).group(1))
    want = _expected(unit, step)
    for key, value in want.items():
        assert abs(shown["values"][key] - value) < 1e-6, (key, step, shown["values"][key], value)
        label = shown["labels"][key]
        assert label.endswith(f"<b>{value:.3f}</b>"), (key, label, value)
    return shown["values"]


def test_inspector_first_request_type_and_step(fresh_server, browser_page):
    page = browser_page
    page.goto(fresh_server + "/Inspector")
    wait_for_idle(page)
    assert "Inspector" in page.title(), page.title()

    # Pick the untrained seeded LSTM (the zoo, when there is one, comes first in the list).
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name=re.compile(r"untrained · LSTM")).click()
    wait_for_idle(page)

    box = page.get_by_label("Input sequence", exact=True)
    box.fill(SEQUENCE)
    box.press("Control+Enter")
    wait_for_idle(page)
    at0 = _check(_state(page, 0), 0)

    # The slider (a react-aria range input): focus it and press the right arrow key once.
    page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
    page.keyboard.press("ArrowRight")
    at1 = _check(_state(page, 1), 1)
    assert at1 != at0

    # The Next button.
    page.get_by_role("button", name="Next ▶").click()
    at2 = _check(_state(page, 2), 2)
    assert at2 != at1

    # A click on the token at step 4 in the text view jumps there.
    text_view = page.locator(".js-plotly-plot").filter(has_text="the input coloured by")
    token = text_view.locator(".bars .point").nth(4)
    token.scroll_into_view_if_needed()
    bar = token.bounding_box()
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    _check(_state(page, 4), 4)

    # Export: the trace as CSV and a figure as standalone HTML, made when the button is pressed.
    page.get_by_text("Export", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Trace as CSV").click()
    csv = Path(download.value.path()).read_text()
    assert csv.splitlines()[0] == "step,token,layer,direction,gate,unit,value"
    assert len(csv.splitlines()) == 1 + 6 * 6 * 8  # steps × gates × units
    with page.expect_download() as download:
        page.get_by_role("button", name="cell diagram as HTML").click()
    assert "LSTM cell" in Path(download.value.path()).read_text()

    # Play: the diagram gets one frame per step and animates in the browser, with no rerun.
    page.get_by_text("▶ Play in the browser").click()
    wait_for_idle(page)
    diagram = page.locator(".js-plotly-plot").filter(has_text="LSTM cell")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                           ".some(gd => gd._transitionData && gd._transitionData._frames.length === 6)")
    diagram.locator(".updatemenu-button").filter(has_text="Play").click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(gd =>"
        " /LSTM cell.*step 5:/.test(String(gd.layout.title.text || gd.layout.title)))", timeout=30_000)

    assert not page.lstmviz_errors, page.lstmviz_errors
