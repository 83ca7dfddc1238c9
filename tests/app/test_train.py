"""AppTest: the Train page — train tiny models side by side, keep them for this session only, Stop keeps
what trained, and the controls cannot ask for more than the in-app limits."""

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstmviz.models import SequenceModel
from lstmviz.tasks import TASKS
from lstmviz.train import LIMITS, TrainEvent
from lstmviz.ui import training as tr
from lstmviz.ui.models import _SESSION_KEY

from .conftest import TIMEOUT, array, figures, page_path, run_page


def _models(at) -> dict:
    """This AppTest session's own models: id -> (label, Loaded)."""
    return at.session_state[_SESSION_KEY] if _SESSION_KEY in at.session_state else {}


@pytest.fixture
def at():
    return run_page(page_path("pages/4_Train.py"))


def _tiny(at, cells=("LSTM", "GRU")):
    """Settings for a run of seconds: brackets, 4 units, 1 epoch of 3 steps of 4 sequences."""
    at.selectbox(key="train_task").set_value("brackets")
    at.multiselect(key="train_cells").set_value(list(cells))
    for key, value in {"train_hidden": 4, "train_epochs": 1, "train_steps": 3, "train_batch": 4}.items():
        at.number_input(key=key).set_value(value)
    at.run()  # a widget change is its own rerun in the browser, before Train is clicked


def test_limits_are_shown_and_enforced_by_the_controls(at):
    caption = at.caption[0].value
    for name in ("hidden_size", "num_layers", "epochs", "steps_per_epoch", "batch_size", "seconds"):
        assert str(LIMITS[name]) in caption, name
    for key, name in {"train_hidden": "hidden_size", "train_layers": "num_layers", "train_epochs": "epochs",
                      "train_steps": "steps_per_epoch", "train_batch": "batch_size"}.items():
        widget = at.number_input(key=key)
        assert (widget.min, widget.max) == (1, LIMITS[name]), key
    assert at.button(key="train_stop").disabled and not at.button(key="train_go").disabled


def test_settings_past_the_limits_are_refused_with_the_limit():
    settings = tr.Settings("adding", ["LSTM"], LIMITS["hidden_size"] + 1, 1, False, 1, 1, 1, 0)
    assert tr.limit_messages(settings) == [
        f"hidden_size = {LIMITS['hidden_size'] + 1} is over the in-app limit of {LIMITS['hidden_size']}; train "
        "bigger models with `python -m lstmviz train` and upload the checkpoint"]


def test_no_cell_chosen_trains_nothing(at):
    at.multiselect(key="train_cells").set_value([]).run()
    at.button(key="train_go").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["pick at least one cell kind to train"]
    assert not _models(at)
    assert not at.button(key="train_go").disabled  # ready for another try


def test_train_two_tiny_models_side_by_side(at):
    _tiny(at)
    at.button(key="train_go").click().run()
    assert not at.exception and not at.error
    labels = [label for label, _ in _models(at).values()]
    assert labels == ["brackets · LSTM 4×1 · seed 0 · #1", "brackets · GRU 4×1 · seed 0 · #1"]
    for label, loaded in _models(at).values():
        assert loaded.task == "brackets" and loaded.spec.hidden_size == 4
        assert loaded.meta["extra"]["steps_trained"] == 3
        assert 0.0 <= loaded.metrics["accuracy"] <= 1.0
        assert any(label in m.value for m in at.markdown)  # listed under "Your models"
    charts = figures(at)
    curves = [f for f in charts if f["layout"]["title"]["text"] in labels]
    assert [f["layout"]["title"]["text"] for f in curves] == labels
    assert [len(f["data"][0]["x"]) for f in curves] == [3, 3]  # one loss point per step
    # the training view: ‖∂L/∂h_s‖ per epoch on a fixed example, one row per epoch trained
    gradients = [f for f in charts if "∂L/∂h" in f["layout"]["title"]["text"]]
    assert len(gradients) == 2 and len(charts) == 4
    assert [array(f["data"][0]["z"]).shape[0] for f in gradients] == [1, 1]
    assert [b.label for b in at.get("download_button")] == ["Download .pt", "Download .pt"]
    assert at.button(key="train_stop").disabled and not at.button(key="train_go").disabled

    at.button(key="train_go").click().run()  # a second job adds two more, numbered #2
    assert [label.rsplit(" · ", 1)[1] for label, _ in _models(at).values()] == ["#1", "#1", "#2", "#2"]


def test_trained_model_is_deterministic_for_a_seed(at):
    _tiny(at, cells=("RNN",))
    at.button(key="train_go").click().run()
    at.button(key="train_go").click().run()
    first, second = (loaded.model.state_dict() for _, loaded in _models(at).values())
    for key in first:
        torch.testing.assert_close(first[key], second[key])


class Interrupted(Exception):
    """What Streamlit does to a run when a click (Stop) asks for a rerun: raise inside an st.* call."""


def test_stop_keeps_the_model_as_trained_so_far(at):
    """A click on Stop interrupts the training run inside a progress update; the next run keeps the
    model that was training, with its weights as they were, and drops the model that had not started."""
    _tiny(at)
    settings = tr.Settings("brackets", ["LSTM", "GRU"], 4, 1, False, 2, 10, 4, 0)
    job = tr.Job(number=1, settings=settings, runs=[
        tr.Run(cell, SequenceModel(TASKS["brackets"].model_config(cell, 4)), 20) for cell in ("lstm", "gru")])

    def click_at_step_7(run, event):
        if event.step == 7:
            raise Interrupted

    with pytest.raises(Interrupted):
        tr.run_job(job, "cpu", click_at_step_7)
    trained = {k: v.clone() for k, v in job.runs[0].model.state_dict().items()}
    assert job.status == "running" and len(job.runs[0].steps) == 7

    at.session_state[tr.JOB_KEY] = job
    at.run()
    assert not at.exception
    assert at.info[0].value.startswith("Stopped. Kept 1 model(s) as trained so far")
    [(label, loaded)] = _models(at).values()
    assert label == "brackets · LSTM 4×1 · seed 0 · #1 · stopped at step 7/20"
    for key, value in loaded.model.state_dict().items():
        torch.testing.assert_close(value, trained[key])
    assert job.status == "finished"
    at.run()  # settled once: nothing added twice
    assert len(_models(at)) == 1
    [chart] = figures(at)  # the GRU never started: no curve for it
    assert chart["layout"]["title"]["text"].endswith("stopped at step 7/20")


def test_trained_models_stay_in_their_own_session(at):
    _tiny(at, cells=("GRU",))
    at.button(key="train_go").click().run()
    assert len(_models(at)) == 1
    other = AppTest.from_file(page_path("pages/4_Train.py"), default_timeout=TIMEOUT)
    other.run()
    assert not other.exception and not _models(other)
    assert any(c.value.startswith("No models yet") for c in other.caption)


def test_a_model_whose_weights_diverged_is_not_kept_and_says_why(at):
    model = SequenceModel(TASKS["brackets"].model_config("rnn", 4))
    with torch.no_grad():
        model.rnn.weight_hh_l0.fill_(float("nan"))
    settings = tr.Settings("brackets", ["RNN"], 4, 1, False, 1, 5, 4, 0)
    run = tr.Run("rnn", model, 5, steps=[TrainEvent("step", 0, 1, 5, float("nan"), 0.0, 0.1)])
    at.session_state[tr.JOB_KEY] = tr.Job(number=1, settings=settings, runs=[run])
    at.run()
    assert not at.exception
    assert not _models(at)
    assert at.info[0].value == "Stopped. Kept 0 model(s) as trained so far; not kept (see below): RNN."
    assert any(c.value == "RNN, not kept: weight_hh_l0 contains NaN or infinite values" for c in at.caption)


def test_the_time_limit_ends_training_and_keeps_what_trained(at, monkeypatch):
    monkeypatch.setitem(LIMITS, "seconds", 1.0)
    _tiny(at, cells=("LSTM",))
    at.number_input(key="train_epochs").set_value(LIMITS["epochs"]).run()
    at.number_input(key="train_steps").set_value(LIMITS["steps_per_epoch"]).run()
    at.button(key="train_go").click().run()
    assert not at.exception
    [(label, loaded)] = _models(at).values()
    total = LIMITS["epochs"] * LIMITS["steps_per_epoch"]
    steps = loaded.meta["extra"]["steps_trained"]
    assert 0 < steps < total
    assert label == f"brackets · LSTM 4×1 · seed 0 · #1 · stopped at step {steps}/{total}"
    assert "time limit (1.0 s) reached" in at.get("progress")[0].proto.text
