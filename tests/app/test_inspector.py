"""AppTest: the Inspector page, one user story per control and per bad input.

Models: the seeded untrained demo modules (always there) and small task models put into the
session, so the tests do not depend on which zoo checkpoints exist.
"""

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstmviz import trace
from lstmviz.checkpoints import Loaded, RecurrentSpec, checkpoint_bytes, load_checkpoint
from lstmviz.models import SequenceModel
from lstmviz.tasks import TASKS
from lstmviz.ui.inspector import DEMO_EXAMPLES, _csv_to_text, truncate
from lstmviz.ui.models import _SESSION_KEY

from .conftest import TIMEOUT, array, figures, page_path

PAGE = "pages/1_Inspector.py"


def _task_model(task: str, kind: str = "lstm", **rnn):
    torch.manual_seed(0)
    spec = TASKS[task]
    model = SequenceModel.from_config(spec.model_config(kind, 8, embed_size=4, **rnn))
    return load_checkpoint(checkpoint_bytes(model, task=task, vocab=spec.vocab, metrics={}, seed=0))


MODELS = {
    "session:chars": ("chars", _task_model("char_lm")),
    "session:bi": ("bi", _task_model("sentiment", num_layers=2, bidirectional=True)),
    "session:adding": ("adding", _task_model("adding", "gru")),
    "session:forecast": ("forecast", _task_model("forecast_lifeexp")),
    "session:proj": ("proj", Loaded(module=RecurrentSpec("lstm", 1, 4, proj_size=2).build().eval(),
                                    spec=RecurrentSpec("lstm", 1, 4, proj_size=2))),
}


def _open(model: str = "demo:lstm", text: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(page_path(PAGE), default_timeout=TIMEOUT)
    at.session_state[_SESSION_KEY] = dict(MODELS)
    if query is None:
        at.session_state["model"] = model
        if text is not None:
            at.session_state["text"] = text
    else:
        for key, value in query.items():
            at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _chart(at, title_start: str) -> dict:
    found = [f for f in figures(at) if f["layout"]["title"]["text"].startswith(title_start)]
    assert found, [f["layout"]["title"]["text"] for f in figures(at)]
    return found[0]


def _live(at) -> dict[str, float]:
    """The diagram's live values: box key -> number."""
    for fig in figures(at):
        for data in fig["data"]:
            if data.get("name") == "live values":
                return {key: value for key, value in data["customdata"]}
    raise AssertionError("no cell diagram on the page")


def _demo_trace(kind: str, text: str):
    torch.manual_seed(0)
    module = RecurrentSpec(kind, 1, 8).build().eval()
    x = torch.tensor([[float(v)] for v in text.split(",")])
    return trace(module, x)


def test_demo_lstm_opens_with_its_first_example_and_shows_true_values():
    at = _open()
    text = next(iter(DEMO_EXAMPLES.values()))
    assert at.text_area(key="text").value == text
    assert at.slider(key="step").value == 0
    unit = at.selectbox(key="unit").value
    want = _demo_trace("lstm", text)
    live = _live(at)
    for gate in ("i", "f", "g", "o", "c", "h"):
        assert live[gate] == pytest.approx(float(want.get(0, "fwd", gate)[0, unit]), abs=1e-6)
    assert live["c_prev"] == 0.0
    assert "\\sigma" in at.latex[0].value and "c_t &= f_t \\odot c_{t-1}" in at.latex[0].value
    titles = [f["layout"]["title"]["text"].split(" ·")[0] for f in figures(at)]
    for gate_title in ("input gate i", "forget gate f", "candidate g (C̃)", "output gate o", "cell state c",
                       "hidden state h"):
        assert gate_title in titles
    assert any("without a head" in i.value for i in at.info)


def test_slider_moves_the_step_everywhere():
    at = _open()
    before = _live(at)
    at.slider(key="step").set_value(3).run()
    assert not at.exception
    assert f"step 3: '{DEMO_EXAMPLES['pulse'].split(', ')[3]}'" in _chart(at, "LSTM cell")["layout"]["title"]["text"]
    assert _live(at) != before
    heatmap = _chart(at, "forget gate f")
    assert (heatmap["layout"]["shapes"][0]["x0"], heatmap["layout"]["shapes"][0]["x1"]) == (2.5, 3.5)
    assert _chart(at, "c and h over the steps")["layout"]["shapes"][0]["x0"] == 3
    text_view = _chart(at, "the input coloured by")
    assert list(array(text_view["data"][0]["marker"]["line"]["width"])).index(3) == 3
    assert any(m.value.startswith("**Equations** · unit") and "step 3" in m.value for m in at.markdown)


def test_previous_and_next_buttons():
    at = _open()
    assert at.button(key="prev").disabled
    at.button(key="next").click().run()
    at.button(key="next").click().run()
    assert at.slider(key="step").value == 2
    at.button(key="prev").click().run()
    assert at.slider(key="step").value == 1
    last = len(DEMO_EXAMPLES["pulse"].split(",")) - 1
    at.slider(key="step").set_value(last).run()
    assert at.button(key="next").disabled and not at.button(key="prev").disabled


def test_example_buttons_load_the_example_at_step_zero():
    at = _open()
    at.slider(key="step").set_value(4).run()
    at.button(key="example_ramp").click().run()
    assert at.text_area(key="text").value == DEMO_EXAMPLES["ramp"]
    assert at.slider(key="step").value == 0
    assert at.slider(key="step").max == len(DEMO_EXAMPLES["ramp"].split(",")) - 1


def test_unit_select_changes_the_diagram():
    at = _open("demo:gru")
    at.selectbox(key="unit").set_value(6).run()
    want = _demo_trace("gru", DEMO_EXAMPLES["pulse"])
    live = _live(at)
    assert "unit 6" in _chart(at, "GRU cell")["layout"]["title"]["text"]
    assert live["z"] == pytest.approx(float(want.get(0, "fwd", "z")[0, 6]), abs=1e-6)
    assert live["update"] == pytest.approx(1 - live["z"])
    assert "keep" in at.latex[0].value or "1 - z_t" in at.latex[0].value


def test_layer_and_direction_of_a_stacked_bidirectional_model():
    at = _open("session:bi", "the movie was not bad")
    assert at.selectbox(key="layer").options == ["0", "1"]
    at.selectbox(key="layer").set_value(1).run()
    at.selectbox(key="dir").set_value("bwd").run()
    assert not at.exception
    title = _chart(at, "LSTM cell")["layout"]["title"]["text"]
    assert "layer 1 bwd" in title
    assert "c_{t+1}" in at.latex[0].value  # the backward direction's previous state
    output = _chart(at, "layer 1 output: h forward")
    assert array(output["data"][0]["z"]).shape == (16, 5)  # 8 forward + 8 backward units, 5 words
    bars = _chart(at, "class probabilities")
    assert bars["data"][0]["y"] == ["negative", "positive"]
    assert any(c.value.startswith("A probe, not a prefix prediction") for c in at.caption)


def test_unknown_characters_are_flagged_and_highlighted():
    at = _open("session:chars", "hé!")
    assert not at.error
    assert at.warning[0].value == ("1 token(s) are not in the model's vocabulary and map to <unk>: step 1 'é'.")
    assert any('<mark style="background:#ff9b9b">é</mark>' in m.value for m in at.markdown)
    assert at.text_area(key="text").value == "hé!"
    assert _chart(at, "top 5 next tokens after step 0")


@pytest.mark.parametrize(("model", "text", "message"), [
    ("demo:lstm", "", "the input is empty; type a sequence (numbers, 1 per step, separated by commas or spaces)"),
    ("demo:lstm", "   ", "the input is empty; type a sequence (numbers, 1 per step, separated by commas or spaces)"),
    ("demo:lstm", "1, x, 3", "step 1: 'x' is not a number"),
    ("demo:lstm", "1, nan", "step 1: nan is not allowed; numbers must be finite (no NaN or inf)"),
    ("session:forecast", "60, abc", "step 1: 'abc' is not a number"),
    ("session:forecast", "60, NaN, 61", "step 1: NaN is not allowed; numbers must be finite (no NaN or inf)"),
    ("session:chars", "", "the input is empty; type a sequence (" + TASKS["char_lm"].text_format + ")"),
])
def test_bad_input_says_why_and_keeps_the_text(model, text, message):
    at = _open(model)
    at.text_area(key="text").set_value(text).run()
    assert [e.value for e in at.error] == [message]
    assert at.text_area(key="text").value == text
    assert not at.get("plotly_chart")


@pytest.mark.parametrize(("model", "text", "steps"), [
    ("demo:lstm", ", ".join(["1"] * 1001), 1001),
    ("session:chars", "x" * 1005, 1005),
])
def test_too_long_input_says_the_limit_and_offers_to_truncate(model, text, steps):
    at = _open(model, text)
    assert at.error[0].value == f"the sequence has {steps} steps; the limit is 1000"
    assert at.text_area(key="text").value == text
    at.button(key="truncate").click().run()
    assert not at.error
    assert at.slider(key="step").max == 999


def test_csv_upload_fills_the_input_box():
    at = _open("session:adding", "0.5:1, 0.25:1")
    at.file_uploader(key="csv").set_value(("seq.csv", b"value,marker\n0.1,0\n0.5,1\n0.2,1\n", "text/csv")).run()
    assert not at.exception
    assert at.text_area(key="text").value == "0.1:0, 0.5:1, 0.2:1"
    assert at.slider(key="step").max == 2
    series = _chart(at, "predicted sum")
    assert series["data"][1]["name"] == "truth"
    assert array(series["data"][1]["y"]) == pytest.approx([0.7] * 3)  # the two marked values' sum
    assert any(c.value.startswith("What the model would answer if the input ended") for c in at.caption)
    at.file_uploader(key="csv").set_value(("bad.csv", b"0.1,0\n0.2,zz\n", "text/csv")).run()
    assert at.error[0].value == "bad.csv line 2: 'zz' is not a number"
    assert at.text_area(key="text").value == "0.1:0, 0.5:1, 0.2:1"


def test_forecast_model_shows_forecast_against_truth():
    at = _open("session:forecast", "60, 62, 64, 66")
    fig = _chart(at, "forecast of the next value")
    assert [d["name"] for d in fig["data"]] == ["model", "truth", "current step"]
    assert array(fig["data"][1]["y"])[:3] == pytest.approx([62, 64, 66])  # truth: the next input, in years
    assert any(c.value.startswith("The model's output after reading") for c in at.caption)


def test_export_buttons_and_play_frames():
    at = _open()
    labels = [b.label for b in at.get("download_button")]
    assert labels[0] == "Trace as CSV"
    assert {"cell diagram as HTML", "text view as HTML", "trajectories as HTML",
            "heatmap forget gate f as HTML"} <= set(labels)
    assert not _chart(at, "LSTM cell").get("frames")
    at.toggle(key="play").set_value(True).run()
    diagram = _chart(at, "LSTM cell")
    assert len(diagram["frames"]) == len(DEMO_EXAMPLES["pulse"].split(","))
    assert diagram["layout"]["updatemenus"][0]["buttons"][0]["method"] == "animate"


def test_the_view_is_kept_in_the_url_and_reopens():
    at = _open(query={"model": "demo:gru", "text": "1, 2, 3, 4", "step": "2", "unit": "5", "layer": "0",
                      "dir": "fwd"})
    title = _chart(at, "GRU cell")["layout"]["title"]["text"]
    assert "unit 5" in title and "step 2: '4'" not in title and "step 2: '3'" in title
    at.slider(key="step").set_value(3).run()
    params = dict(at.query_params)
    assert params["model"] in ("demo:gru", ["demo:gru"])
    assert str(params["step"]).strip("[]'") == "3"
    assert "1, 2, 3, 4" in str(params["text"])


def test_bad_url_values_fall_back():
    at = _open(query={"model": "zoo:nope", "step": "-4", "dir": "sideways", "unit": "999"})
    assert not at.exception
    assert at.slider(key="step").value == 0
    assert at.selectbox(key="dir").value == "fwd"


def test_truncate_and_csv_helpers_keep_each_models_format():
    chars, words = MODELS["session:chars"][1], MODELS["session:bi"][1]
    assert truncate(chars, "abcdef", 3) == "abc"
    assert truncate(words, "the film, was good", 3) == "the film ,"
    bare = Loaded(module=RecurrentSpec("lstm", 1, 2).build(), spec=RecurrentSpec("lstm", 1, 2))
    assert truncate(bare, "1 2, 3\n4", 3) == "1, 2, 3"
    wide = Loaded(module=RecurrentSpec("lstm", 2, 2).build(), spec=RecurrentSpec("lstm", 2, 2))
    assert truncate(wide, "1 2; 3 4; 5 6", 2) == "1 2; 3 4"
    assert _csv_to_text(wide, "1,2\n3,4\n", "f.csv") == "1 2; 3 4"
    assert _csv_to_text(bare, "x\n1\n2.5\n", "f.csv") == "1, 2.5"
    assert truncate(MODELS["session:forecast"][1], "1 2 3", 2) == "1, 2"


def test_every_model_in_the_registry_runs_every_example():
    """Whatever the zoo holds (plus the demos and the session's models): each example loads cleanly."""
    at = _open()
    select = at.selectbox(key="model")
    for index in range(len(select.options)):
        at.selectbox(key="model").select_index(index).run()
        assert not at.exception and not at.error, at.selectbox(key="model").value
        for key in [b.key for b in at.button if (b.key or "").startswith("example_")]:
            at.button(key=key).click().run()
            assert not at.exception and not at.error, (at.selectbox(key="model").value, key)
            assert _live(at) and at.latex


def test_a_single_step_has_no_slider_and_no_way_to_move():
    at = _open()
    at.text_area(key="text").set_value("5").run()
    assert not at.exception and not at.error
    assert not at.slider
    assert at.button(key="prev").disabled and at.button(key="next").disabled
    assert "step 0: '5'" in _chart(at, "LSTM cell")["layout"]["title"]["text"]


def test_projected_lstm_units_past_proj_size_have_no_h():
    at = _open("session:proj", "1, 2, 3")
    at.selectbox(key="unit").set_value(3).run()
    at.selectbox(key="view_gate").set_value("h").run()
    assert not at.exception and not at.error
    assert "W_{hr}" in at.latex[0].value
    assert _live(at)["c"] == _live(at)["c"]  # a number; h of unit 3 does not exist (NaN)
