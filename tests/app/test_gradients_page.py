"""AppTest: the Gradients page — every control, every bad input, the URL, and the drawn maps' values.

The default view is the zoo's adding-problem LSTM, GRU and RNN; the length limit is tested on the small
untrained demos (bare modules reading one number per step), which are cheap at 400 steps.
"""

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstmviz.checkpoints import Loaded, RecurrentSpec, load_checkpoint
from lstmviz.gradients import connectivity, model_connectivity
from lstmviz.models import SequenceModel, init_forget_bias
from lstmviz.run import prepare
from lstmviz.tasks import get_task
from lstmviz.train import gradient_probe
from lstmviz.ui.gradients import MAX_GRADIENT_STEPS, length_error, truncate_text
from lstmviz.ui.training import Job, Run, Settings, run_label
from lstmviz.zoo import zoo_models

from .conftest import array, figures, heatmaps_by_title, page_path, query_value, run_page

PAGE = page_path("pages/2_Gradients.py")
SHORT = "0.1:0, 0.9:1, 0.3:0, 0.2:1, 0.5:0, 0.7:0"
ZOO_ADDING = ["zoo:adding-lstm", "zoo:adding-gru", "zoo:adding-rnn"]
FIX = ". Fix the input above; every model reads the same text."


def _app(query: dict[str, str] | None = None, session: dict | None = None) -> AppTest:
    return run_page(PAGE, query, session)


def _values(fig: dict) -> np.ndarray:
    """What a log-scale heatmap shows, as values (its hover data)."""
    return array(fig["data"][0]["customdata"]).astype(np.float64)


def _outlined_row(fig: dict) -> float:
    return fig["layout"]["shapes"][0]["y0"] + 0.5


def _zoo(name: str) -> Loaded:
    return load_checkpoint(zoo_models()[name])


def _set_text(at: AppTest, text: str) -> AppTest:
    at.text_area(key="grad_text").set_value(text).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def short():
    return _app({"grad_text": SHORT})


def test_defaults_zoo_adding_models_trained_and_at_init(short):
    at = short
    assert at.selectbox(key="grad_task").value == "adding"
    assert at.multiselect(key="grad_models").value == ZOO_ADDING
    heatmaps = heatmaps_by_title(at)
    for name in ("LSTM", "GRU", "RNN"):
        for state in ("trained", "at init"):
            assert f"{name} {state} · ‖∂y_t/∂x_s‖" in heatmaps
    assert len(figures(at)) == 6 + 6 + 2 + 3 + 1  # maps, loss gradients, highway lines, per unit, decay
    captions = " ".join(c.value for c in at.caption)
    assert "Row t: how much the output at step t" in captions
    assert "L = (ŷ − y)², the model's squared error at the last step" in captions
    assert "∏ z_k (PyTorch's keep gate)" in captions
    assert "falls below 1% of its value at distance 0" in captions
    assert "records ‖∂L/∂h_s‖ on a fixed example" in at.info[0].value
    rows = at.table[0].value
    assert list(rows["model"]) == ["LSTM", "GRU", "RNN"] and list(rows.columns) == ["model", "trained", "at init"]


def test_trained_heatmap_values_equal_model_connectivity(short):
    raw = prepare(_zoo("adding-lstm"), SHORT).raw[0]
    heatmaps = heatmaps_by_title(short)
    for kind in ("lstm", "gru", "rnn"):
        expected = model_connectivity(_zoo(f"adding-{kind}").model, raw)
        drawn = _values(heatmaps[f"{kind.upper()} trained · ‖∂y_t/∂x_s‖"])
        assert drawn.shape == (6, 6)
        np.testing.assert_allclose(drawn, expected, rtol=1e-6, atol=0)


def test_init_heatmap_values_equal_a_seeded_model_of_the_same_size(short):
    loaded = _zoo("adding-gru")
    torch.manual_seed(0)
    fresh = SequenceModel.from_config(loaded.model.config).eval()
    expected = model_connectivity(fresh, prepare(loaded, SHORT).raw[0])
    np.testing.assert_allclose(_values(heatmaps_by_title(short)["GRU at init · ‖∂y_t/∂x_s‖"]), expected, rtol=1e-6)


def test_step_slider_moves_every_marker_and_thequery_value():
    at = _app({"grad_text": SHORT})
    assert at.slider(key="grad_step").value == 5  # the last step by default
    at.slider(key="grad_step").set_value(2).run()
    assert not at.exception
    maps = [f for f in heatmaps_by_title(at).values() if "‖∂y_t/∂x_s‖" in f["layout"]["title"]["text"]]
    assert {_outlined_row(f) for f in maps} == {2}
    assert "into step 2" in " ".join(heatmaps_by_title(at))
    assert query_value(at, "grad_step") == "2"


def test_url_reopens_models_step_and_input():
    at = _app({"grad_text": SHORT, "grad_step": "3", "grad_models": "zoo:adding-rnn,zoo:adding-lstm"})
    assert at.multiselect(key="grad_models").value == ["zoo:adding-rnn", "zoo:adding-lstm"]
    assert at.slider(key="grad_step").value == 3
    assert at.text_area(key="grad_text").value == SHORT
    assert list(at.table[0].value["model"]) == ["RNN", "LSTM"]
    assert query_value(at, "grad_models") == "zoo:adding-rnn,zoo:adding-lstm"
    assert query_value(at, "grad_text") == SHORT


def test_a_bad_url_falls_back_to_the_defaults():
    at = _app({"grad_text": SHORT, "grad_task": "nonsense", "grad_models": "zoo:nope", "grad_step": "x"})
    assert at.selectbox(key="grad_task").value == "adding"
    assert at.multiselect(key="grad_models").value == ZOO_ADDING
    assert at.slider(key="grad_step").value == 5


def test_models_picker_removes_a_model_and_empty_says_so():
    at = _app({"grad_text": SHORT})
    at.multiselect(key="grad_models").unselect("zoo:adding-gru").run()
    assert not at.exception
    assert list(at.table[0].value["model"]) == ["LSTM", "RNN"]
    assert len(figures(at)) == 4 + 4 + 2 + 2 + 1
    assert query_value(at, "grad_models") == "zoo:adding-lstm,zoo:adding-rnn"
    at.multiselect(key="grad_models").set_value([]).run()
    assert not at.exception
    assert at.error[0].value == "Pick at least one trained model in the sidebar."
    assert not figures(at)


def test_forget_bias_checkbox_changes_only_the_init_lstm():
    at = _app({"grad_text": SHORT})
    before = heatmaps_by_title(at)
    at.checkbox(key="grad_bias").check().run()
    assert not at.exception
    after = heatmaps_by_title(at)
    assert query_value(at, "grad_bias") == "True"
    loaded = _zoo("adding-lstm")
    torch.manual_seed(0)
    fresh = SequenceModel.from_config(loaded.model.config).eval()
    init_forget_bias(fresh, 1.0)
    expected = model_connectivity(fresh, prepare(loaded, SHORT).raw[0])
    np.testing.assert_allclose(_values(after["LSTM at init · ‖∂y_t/∂x_s‖"]), expected, rtol=1e-6)
    assert not np.allclose(_values(before["LSTM at init · ‖∂y_t/∂x_s‖"]), expected)
    for title in ("GRU at init · ‖∂y_t/∂x_s‖", "LSTM trained · ‖∂y_t/∂x_s‖"):
        np.testing.assert_array_equal(_values(after[title]), _values(before[title]))


def test_example_button_loads_the_t100_input():
    at = _app({"grad_text": SHORT})
    at.button(key="grad_ex_T=100").click().run()
    assert not at.exception
    assert at.text_area(key="grad_text").value == get_task("adding").examples["T=100"]
    assert at.slider(key="grad_step").value == 99
    assert _values(heatmaps_by_title(at)["RNN trained · ‖∂y_t/∂x_s‖"]).shape == (100, 100)


def test_task_switch_loads_that_tasks_models_and_first_example():
    at = _app({"grad_text": SHORT})
    at.selectbox(key="grad_task").set_value("brackets").run()
    assert not at.exception
    assert at.multiselect(key="grad_models").value == ["zoo:brackets-lstm", "zoo:brackets-gru", "zoo:brackets-rnn"]
    text = next(iter(get_task("brackets").examples.values()))
    assert at.text_area(key="grad_text").value == text
    captions = " ".join(c.value for c in at.caption)
    assert "L = the sum of the top layer's outputs at the last step" in captions
    raw = prepare(_zoo("brackets-lstm"), text).raw[0]
    np.testing.assert_allclose(_values(heatmaps_by_title(at)["LSTM trained · ‖∂y_t/∂x_s‖"]),
                               model_connectivity(_zoo("brackets-lstm").model, raw), rtol=1e-6)
    assert query_value(at, "grad_task") == "brackets"


@pytest.mark.parametrize(("text", "message"), [
    ("", "the input is empty; type a sequence (value:marker pairs separated by commas, e.g. 0.31:0, 0.72:1; "
         "two markers are 1.)"),
    ("0.1:0, abc:1, 0.2:1", "step 1: 'abc' is not a number"),
    ("0.1:0, nan:1, 0.2:1", "step 1: nan:1 is not allowed; numbers must be finite (no NaN or inf)"),
    ("0.1:0, 0.5:inf", "step 1: 0.5:inf is not allowed; numbers must be finite (no NaN or inf)"),
])
def test_bad_input_says_what_is_wrong_and_keeps_the_text(text, message):
    at = _set_text(_app({"grad_text": SHORT}), text)
    assert [e.value for e in at.error] == [message + FIX]
    assert at.text_area(key="grad_text").value == text
    assert not figures(at)


def test_unknown_tokens_are_flagged_and_drawn():
    at = _app({"grad_task": "brackets", "grad_text": "(x)é"})
    assert at.warning[0].value == "Not in the vocabulary, read as <unk>: 'é'"
    assert _values(heatmaps_by_title(at)["GRU trained · ‖∂y_t/∂x_s‖"]).shape == (4, 4)


def test_past_the_length_limit_error_and_truncate():
    text = ", ".join(str(k % 7) for k in range(MAX_GRADIENT_STEPS + 1))
    at = _app({"grad_task": "numbers:1", "grad_text": text})
    assert [e.value for e in at.error] == [length_error(MAX_GRADIENT_STEPS + 1)]
    assert "limited to 400 steps" in at.error[0].value and "401 steps" in at.error[0].value
    assert not figures(at)
    at.button(key="grad_truncate").click().run()
    assert not at.exception
    assert at.text_area(key="grad_text").value == ", ".join(str(k % 7) for k in range(MAX_GRADIENT_STEPS))
    assert not at.error
    drawn = heatmaps_by_title(at)["LSTM trained · ‖∂y_t/∂x_s‖"]
    assert _values(drawn).shape == (MAX_GRADIENT_STEPS, MAX_GRADIENT_STEPS)


def test_bare_demo_modules_use_the_module_connectivity():
    text = "0.5, -1, 2, 0, 1"
    at = _app({"grad_task": "numbers:1", "grad_text": text})
    assert at.multiselect(key="grad_models").value == ["demo:lstm", "demo:gru", "demo:rnn"]
    torch.manual_seed(0)
    demo = RecurrentSpec("rnn", 1, 8).build().eval()
    x = torch.tensor([[0.5], [-1.0], [2.0], [0.0], [1.0]])
    drawn = _values(heatmaps_by_title(at)["RNN trained · ‖∂y_t/∂x_s‖"])
    np.testing.assert_allclose(drawn, connectivity(demo, x), rtol=1e-6)
    assert "sum of the top layer's outputs" in " ".join(c.value for c in at.caption)


def test_training_view_draws_the_latest_train_jobs_histories():
    task = get_task("adding")
    settings = Settings("adding", ["lstm", "rnn"], 4, 1, False, 2, 1, 4, 0)
    runs = []
    for cell in ("lstm", "rnn"):
        torch.manual_seed(0)
        run = Run(cell, SequenceModel(task.model_config(cell, 4)).eval(), 2, gradients=gradient_probe(task))
        for _ in range(2):
            run.gradients.record(run.model)
        runs.append(run)
    job = Job(number=1, settings=settings, runs=runs, status="finished")
    at = _app({"grad_text": SHORT}, {"lstmviz_train_job": job})
    heatmaps = heatmaps_by_title(at)
    for run in runs:
        drawn = heatmaps[f"{run_label(job, run)} · ‖∂L/∂h_s‖ by epoch"]
        np.testing.assert_allclose(_values(drawn), run.gradients.history, rtol=1e-6)
        assert _values(drawn).shape == (2, task.T)
    assert not at.info


def test_truncate_text_keeps_separators():
    assert truncate_text("1,2 ,3;4", ["1", "2", "3", "4"], 3) == "1,2 ,3"
    assert truncate_text("The Film was", ["the", "film", "was"], 2) == "The Film"
    assert length_error(MAX_GRADIENT_STEPS) is None


def test_moving_the_step_recomputes_no_map(monkeypatch):
    from lstmviz.ui import gradients as glue

    calls = []
    compute = glue._compute
    monkeypatch.setattr(glue, "_compute", lambda *args: calls.append(1) or compute(*args))
    at = _app({"grad_text": "0.11:1, 0.22:0, 0.33:1, 0.44:0, 0.55:0, 0.66:0, 0.77:0"})  # an input no test used
    assert len(calls) == 6  # three trained models and their three twins at init
    for step in (0, 3):
        at.slider(key="grad_step").set_value(step).run()
        assert not at.exception
    assert len(calls) == 6


def test_bidirectional_zoo_model_is_drawn():
    text = "the movie was not bad"
    at = _app({"grad_task": "sentiment", "grad_models": "zoo:sentiment-bilstm", "grad_text": text})
    loaded = _zoo("sentiment-bilstm")
    expected = model_connectivity(loaded.model, prepare(loaded, text).raw[0])
    drawn = _values(heatmaps_by_title(at)["biLSTM trained · ‖∂y_t/∂x_s‖"])
    np.testing.assert_allclose(drawn, expected, rtol=1e-6)
    assert np.count_nonzero(np.triu(drawn, 1))  # a bidirectional output also feels later steps


def test_adding_loss_gradient_at_the_last_step_is_the_squared_error_slope(short):
    """∂L/∂h_{T−1} of L = (ŷ − y)² is 2(ŷ − y)·w_head: its norm, checked by hand for each trained model."""
    raw = prepare(_zoo("adding-rnn"), SHORT).raw[0]
    target = float(raw[raw[:, 1] == 1, 0].sum())  # 0.9 + 0.2
    charts = {f["layout"]["title"]["text"]: f for f in figures(short)}
    for kind in ("lstm", "gru", "rnn"):
        model = _zoo(f"adding-{kind}").model
        with torch.no_grad():
            predicted = float(model(raw[None])[0, 0])
        expected = abs(2 * (predicted - target)) * float(model.head.weight.detach().norm())
        h_line = next(d for d in charts[f"{kind.upper()} trained · ‖∂L/∂h_s‖"]["data"] if d["name"].startswith("∂L/∂h"))
        assert float(array(h_line["y"])[-1]) == pytest.approx(expected, rel=1e-5)
