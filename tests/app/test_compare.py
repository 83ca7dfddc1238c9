"""AppTest: the Compare page — shared input and step, every control, bad input, the URL.

Small untrained task models are put into the session (as a trained or uploaded model would be) and
chosen through the URL, so the tests do not depend on which zoo checkpoints exist.
"""

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstmviz import compare, trace
from lstmviz.checkpoints import Loaded, RecurrentSpec
from lstmviz.models import SequenceModel
from lstmviz.tasks import get_task

from .conftest import array, figures, heatmaps_by_title, page_path, query_value, run_page

PAGE = page_path("pages/3_Compare.py")


def _model(task: str, cell: str, seed: int = 0, **rnn) -> Loaded:
    torch.manual_seed(seed)
    model = SequenceModel(get_task(task).model_config(cell, 6, embed_size=4, **rnn)).eval()
    spec = RecurrentSpec(cell, model.rnn.input_size, 6, num_layers=model.rnn.num_layers,
                         bidirectional=model.rnn.bidirectional)
    return Loaded(module=model.rnn, spec=spec, model=model, task=task, metrics={"within_0.04_T100": 0.25})


MODELS = {
    "session:add-lstm": ("adding LSTM", _model("adding", "lstm")),
    "session:add-gru": ("adding GRU", _model("adding", "gru")),
    "session:add-rnn": ("adding RNN", _model("adding", "rnn")),
    "session:sent-bilstm": ("sentiment biLSTM", _model("sentiment", "lstm", bidirectional=True)),
    "session:sent-gru2": ("sentiment 2-layer GRU", _model("sentiment", "gru", num_layers=2)),
}
ADDING = {"cmp_task": "adding", "cmp_a": "session:add-lstm", "cmp_b": "session:add-gru", "cmp_c": "session:add-rnn"}
SHORT = "0.1:0, 0.9:1, 0.3:0, 0.2:1, 0.5:0"


def _app(params: dict[str, str], text: str | None = None) -> AppTest:
    session = {"lstmviz_user_models": dict(MODELS)} | ({"cmp_text": text} if text is not None else {})
    return run_page(PAGE, params, session)


def _marked_steps(at) -> set[float]:
    """The step outlined in every heatmap (x0 + 0.5 of its 'current step' rectangle)."""
    return {f["layout"]["shapes"][0]["x0"] + 0.5 for f in heatmaps_by_title(at).values()}


@pytest.fixture
def adding():
    return _app(ADDING, SHORT)


def test_three_models_aligned_gates_and_gru_convention(adding):
    heatmaps = heatmaps_by_title(adding)
    assert {"A · LSTM · forget f", "B · GRU · z (PyTorch: keep)", "A · LSTM · input i",
            "B · GRU · 1−z (textbook update z)", "A · LSTM · output o", "B · GRU · reset r",
            "C · RNN · hidden h"} <= set(heatmaps)
    assert "PyTorch's convention" in adding.info[0].value
    captions = " ".join(c.value for c in adding.caption)
    assert "no gate plays this part in a RNN" in captions and "no gate plays this part in a LSTM" in captions
    gru = MODELS["session:add-gru"][1]
    tr = compare.aligned_gate(
        trace(gru.module, gru.model.encode(get_task("adding").encode_text(SHORT)[0][None])[0]), "write")
    np.testing.assert_allclose(array(heatmaps["B · GRU · 1−z (textbook update z)"]["data"][0]["z"]).T,
                               tr[1], atol=1e-6)
    assert {k: query_value(adding, k) for k in ADDING} == ADDING and query_value(adding, "cmp_step") == "0"


def test_next_prev_slider_and_url_move_every_model_together(adding):
    assert _marked_steps(adding) == {0}
    adding.button(key="cmp_next").click().run()
    adding.button(key="cmp_next").click().run()
    assert _marked_steps(adding) == {2}
    assert "**Step 2** · token `0.3:0`" in [m.value for m in adding.markdown]
    adding.button(key="cmp_prev").click().run()
    assert _marked_steps(adding) == {1}
    adding.slider(key="cmp_step").set_value(4).run()
    assert _marked_steps(adding) == {4}
    adding.button(key="cmp_next").click().run()  # already at the last step: stays
    assert _marked_steps(adding) == {4}
    assert query_value(adding, "cmp_step") == "4"
    assert query_value(adding, "cmp_text") == SHORT
    reopened = _app(ADDING | {"cmp_step": "3", "cmp_text": SHORT})
    assert _marked_steps(reopened) == {3}
    assert reopened.text_area(key="cmp_text").value == SHORT
    too_far = _app(ADDING | {"cmp_step": "99"}, SHORT)
    assert _marked_steps(too_far) == {4}


def test_divergence_jump_goes_to_the_peak(adding):
    fig = next(f for f in figures(adding) if f["layout"]["title"]["text"].startswith("Where the models disagree"))
    pairs = [d["name"] for d in fig["data"]]
    assert pairs == ["A · LSTM vs B · GRU", "A · LSTM vs C · RNN", "B · GRU vs C · RNN", "most divergent step"]
    curves = {d["name"]: array(d["y"]) for d in fig["data"][:3]}
    peak = compare.most_divergent_step(curves)
    adding.button(key="cmp_jump").click().run()
    assert adding.slider(key="cmp_step").value == peak
    assert _marked_steps(adding) == {peak}


def test_examples_buttons_fill_the_shared_input(adding):
    example = get_task("adding").examples["markers side by side"]
    adding.button(key="cmp_ex_markers side by side").click().run()
    assert adding.text_area(key="cmp_text").value == example
    heat = next(iter(heatmaps_by_title(adding).values()))
    assert len(heat["data"][0]["x"]) == 20


@pytest.mark.parametrize(("text", "message"), [
    ("", "the input is empty"),
    ("0.1:0, x:1", "step 1: 'x' is not a number"),
    ("0.1:0, nan:1", "step 1: nan:1 is not allowed; numbers must be finite"),
])
def test_bad_input_says_why_and_keeps_the_text(adding, text, message):
    adding.text_area(key="cmp_text").set_value(text).run()
    assert not adding.exception
    assert adding.error[0].value.startswith(message), adding.error[0].value
    assert adding.text_area(key="cmp_text").value == text
    assert not adding.get("plotly_chart")


def test_thresholds_change_the_saturation_scatter(adding):
    scatter = next(f for f in figures(adding) if f["layout"]["title"]["text"] == "A · LSTM")
    assert scatter["layout"]["xaxis"]["title"]["text"] == "fraction < 0.1"
    adding.slider(key="cmp_low").set_value(0.3).run()
    adding.slider(key="cmp_high").set_value(0.6).run()
    scatter = next(f for f in figures(adding) if f["layout"]["title"]["text"] == "A · LSTM")
    assert scatter["layout"]["xaxis"]["title"]["text"] == "fraction < 0.3"
    assert {d["name"] for d in scatter["data"] if d["mode"] == "markers"} == {"your input", "task sample"}
    assert "this cell has no sigmoid gates" in str(
        next(f for f in figures(adding) if f["layout"]["title"]["text"] == "C · RNN")["layout"]["annotations"])


def test_table_with_measured_parameters_and_timing(adding):
    table = adding.table[0].value
    assert list(table.columns) == ["A · LSTM", "B · GRU", "C · RNN"]
    for column, model_id in zip(table.columns, ("session:add-lstm", "session:add-gru", "session:add-rnn"),
                                strict=True):
        model = MODELS[model_id][1].model
        assert table.loc["parameters (whole model)", column] == f"{sum(p.numel() for p in model.parameters()):,}"
    assert table.loc["gates", "A · LSTM"].startswith("3") and table.loc["gates", "B · GRU"].startswith("2")
    assert table.loc["training s per 20-step epoch (timed here)", "A · LSTM"] == "—"
    adding.checkbox(key="cmp_time").check().run()
    timed = adding.table[0].value.loc["training s per 20-step epoch (timed here)"]
    assert all(float(v) > 0 for v in timed)


def test_memory_probe_for_adding_models(adding):
    probe = next(f for f in figures(adding) if f["layout"]["title"]["text"].startswith("Memory of the first"))
    assert [d["name"].split(" (")[0] for d in probe["data"][::2]] == ["A · LSTM", "B · GRU", "C · RNN"]
    assert [d["name"] for d in probe["data"][1::2]] == ["A · LSTM", "B · GRU", "C · RNN"]  # connectivity


def test_two_models_and_switching_task_shows_bidirectional_and_stacked_views(adding):
    adding.selectbox(key="cmp_c").set_value("none").run()
    assert [c for c in adding.table[0].value.columns] == ["A · LSTM", "B · GRU"]
    adding.selectbox(key="cmp_task").set_value("sentiment").run()
    assert not adding.exception
    assert adding.text_area(key="cmp_text").value == get_task("sentiment").examples["negation"]
    for key in ("cmp_a", "cmp_b"):  # the slots follow the task (zoo sentiment models first, when shipped)
        assert adding.selectbox(key=key).value.startswith(("zoo:sentiment-", "session:sent-"))
    adding.selectbox(key="cmp_a").set_value("session:sent-bilstm").run()
    adding.selectbox(key="cmp_b").set_value("session:sent-gru2").run()
    titles = set(heatmaps_by_title(adding))
    name = "A · biLSTM"
    assert {f"{name} · forward h", f"{name} · backward h", f"{name} · concatenated [fwd | bwd]",
            f"{name} · summed fwd + bwd", "B · GRU · layer 0 · h", "B · GRU · layer 1 · h",
            "B · GRU · layer 1 · z (PyTorch: keep)"} <= titles
    concat = heatmaps_by_title(adding)[f"{name} · concatenated [fwd | bwd]"]
    assert len(array(concat["data"][0]["z"])) == 12  # 2 × 6 units
    assert "probabilities" not in adding.query_params
    assert not [f for f in figures(adding) if f["layout"]["title"]["text"].startswith("Memory")]


def test_unknown_words_are_flagged():
    at = _app({"cmp_task": "sentiment", "cmp_a": "session:sent-bilstm", "cmp_b": "session:sent-gru2"},
              "the movie was supercalifragilistic")
    assert "'supercalifragilistic'" in at.warning[0].value


def test_bare_demo_modules_without_a_head():
    at = _app({"cmp_task": "numbers:1"})
    assert [at.selectbox(key=k).value for k in ("cmp_a", "cmp_b", "cmp_c")] == ["demo:lstm", "demo:gru", "demo:rnn"]
    assert any("no predictions to compare" in c.value for c in at.caption)
    assert "training s per 20-step epoch (timed here)" in at.table[0].value.index
    at.checkbox(key="cmp_time").check().run()
    assert "no task" in at.warning[0].value
    at.text_area(key="cmp_text").set_value("1, 2, x").run()
    assert at.error[0].value.startswith("step 2: 'x' is not a number")


def test_choosing_another_model_for_a_slot(adding):
    adding.selectbox(key="cmp_b").set_value("session:add-rnn").run()
    assert list(adding.table[0].value.columns) == ["A · LSTM", "B · RNN", "C · RNN"]
    assert query_value(adding, "cmp_b") == "session:add-rnn"
    assert not adding.info  # no GRU left, so no GRU convention box
    assert "B · GRU · z (PyTorch: keep)" not in heatmaps_by_title(adding)
