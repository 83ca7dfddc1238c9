"""AppTest: the Upload page — a good file shows its config and joins this session's models; every bad
file (not a checkpoint, hostile pickle, wrong shapes, vocabulary of the wrong size) is one clear error
that adds nothing and loses nothing."""

import io
import os

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstmviz.checkpoints import checkpoint_bytes
from lstmviz.models import SequenceModel
from lstmviz.tasks import TASKS
from lstmviz.train import TrainEvent
from lstmviz.ui import training as tr
from lstmviz.ui.models import _SESSION_KEY

from .conftest import TIMEOUT, page_path, run_page

OCTETS = "application/octet-stream"


def _bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _models(at) -> dict:
    """This AppTest session's own models: id -> (label, Loaded)."""
    return at.session_state[_SESSION_KEY] if _SESSION_KEY in at.session_state else {}


def _config(at) -> dict[str, str]:
    table = at.table[0].value
    return dict(zip(table["setting"], table["value"], strict=True))


def _upload(at, name: str, data: bytes, vocab: bytes | None = None):
    at.file_uploader(key="upload_file").set_value((name, data, OCTETS))
    if vocab is not None:
        at.file_uploader(key="upload_vocab").set_value(("vocab.txt", vocab, "text/plain"))
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def at():
    return run_page(page_path("pages/5_Upload.py"))


def test_page_states_the_size_limit_and_waits_for_a_file(at):
    assert "50 MB" in at.file_uploader(key="upload_file").label
    assert at.info[0].value == "Choose a checkpoint file to see its configuration."
    assert not at.error and not _models(at)


def test_good_state_dict_shows_inferred_config_and_is_added_once(at):
    module = torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    _upload(at, "mine.pt", _bytes(module.state_dict()))
    assert not at.error
    config = _config(at)
    assert {k: config[k] for k in ("format", "kind", "input size", "hidden size", "layers", "bidirectional",
                                   "proj_size", "bias")} == {
        "format": "bare state_dict", "kind": "LSTM", "input size": "3", "hidden size": "6", "layers": "2",
        "bidirectional": "True", "proj_size": "2", "bias": "True"}
    assert config["parameters"] == f"{sum(p.numel() for p in module.parameters()):,}"
    assert at.success[0].value.startswith("Added **mine (LSTM 6)** to your models")
    [(label, loaded)] = _models(at).values()
    assert label == "mine (LSTM 6)"
    for key, value in module.state_dict().items():
        torch.testing.assert_close(loaded.module.state_dict()[key], value)
    at.run()  # a rerun with the same upload adds nothing new
    assert len(_models(at)) == 1
    at.text_input(key="upload_name").set_value("my lstm").run()
    assert [label for label, _ in _models(at).values()] == ["my lstm"]
    assert any("my lstm" in m.value for m in at.markdown)


def test_bare_rnn_takes_the_chosen_nonlinearity(at):
    at.radio(key="upload_nl").set_value("relu").run()
    _upload(at, "rnn.pt", _bytes(torch.nn.RNN(2, 4, nonlinearity="relu").state_dict()))
    assert _config(at)["nonlinearity"] == "relu"
    [(_, loaded)] = _models(at).values()
    assert loaded.module.nonlinearity == "relu"


def test_lstmviz_checkpoint_shows_task_vocabulary_and_metrics(at):
    task = TASKS["brackets"]
    model = SequenceModel(task.model_config("gru", 4))
    data = checkpoint_bytes(model, task="brackets", vocab=task.vocab, metrics={"accuracy": 0.5}, seed=3)
    _upload(at, "brackets.pt", data, vocab=b"<unk>\n(\n)\n.\n")
    config = _config(at)
    assert (config["format"], config["task"], config["vocabulary"], config["metric: accuracy"]) == (
        "lstmviz checkpoint", "brackets", "4 tokens", "0.5")
    [(_, loaded)] = _models(at).values()
    assert loaded.vocab == ["<unk>", "(", ")", "."]


def test_malicious_pickle_is_refused_never_runs_and_keeps_earlier_models(at, tmp_path):
    _upload(at, "good.pt", _bytes(torch.nn.GRU(2, 3).state_dict()))
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    _upload(at, "evil.pt", _bytes({"weight_ih_l0": Evil()}))
    assert [e.value for e in at.error] == [
        "Could not use evil.pt: refused: the file holds Python objects or code, not just tensors (loaded with "
        "weights_only=True; nothing in it was run). Nothing was added; your other models are kept."]
    assert not marker.exists()
    assert not at.table and not at.success
    assert [label for label, _ in _models(at).values()] == ["good (GRU 3)"]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.txt", b"hello, this is text\n", "not a PyTorch checkpoint"),
    ("empty.pt", b"", "the file is empty"),
    ("shapes.pt", _bytes({"weight_ih_l0": torch.zeros(8, 3), "weight_hh_l0": torch.zeros(8, 2),
                          "bias_ih_l0": torch.zeros(5), "bias_hh_l0": torch.zeros(8)}),
     "bias_ih_l0 has shape (5,), expected (8,) for LSTM(input 3, hidden 2)"),
    ("model.pt", _bytes({"layer.weight": torch.zeros(2, 2)}), "unknown keys in the state dict: layer.weight"),
])
def test_files_that_are_not_usable_checkpoints(at, name, data, message):
    _upload(at, name, data)
    [error] = at.error
    assert error.value.startswith(f"Could not use {name}: {message}")
    assert error.value.endswith("Nothing was added; your other models are kept.")
    assert not _models(at)


def test_vocabulary_of_the_wrong_size_is_refused(at):
    _upload(at, "gru.pt", _bytes(torch.nn.GRU(3, 4).state_dict()), vocab=b"a\nb\n")
    assert [e.value for e in at.error] == [
        "Could not use vocab.txt: the vocabulary has 2 tokens but the GRU's input size is 3; a bare module reads "
        "one-hot vectors, so the vocabulary needs exactly 3 tokens. Nothing was added; your other models are kept."]
    assert not _models(at)
    at.file_uploader(key="upload_vocab").set_value(("vocab.txt", b"a\nb\nc\n", "text/plain")).run()
    assert not at.error
    [(_, loaded)] = _models(at).values()
    assert loaded.vocab == ["a", "b", "c"]


def test_token_checkpoint_vocabulary_must_match_its_embedding(at):
    task = TASKS["brackets"]
    data = checkpoint_bytes(SequenceModel(task.model_config("lstm", 4)), task="brackets", vocab=task.vocab,
                            metrics={}, seed=0)
    _upload(at, "b.pt", data, vocab=b"(\n)\n")
    assert at.error[0].value.startswith("Could not use vocab.txt: the vocabulary has 2 tokens but the model's "
                                        "embedding has 4 rows (vocab_size 4); they must be equal.")


def test_an_upload_is_seen_by_its_own_session_only(at):
    _upload(at, "mine.pt", _bytes(torch.nn.LSTM(1, 2).state_dict()))
    assert len(_models(at)) == 1
    other = AppTest.from_file(page_path("pages/5_Upload.py"), default_timeout=TIMEOUT)
    other.run()
    assert not other.exception
    assert not _models(other)
    assert not any("mine" in m.value for m in other.markdown)


def test_training_interrupted_by_coming_here_keeps_its_model(at):
    settings = tr.Settings("brackets", ["GRU"], 4, 1, False, 1, 5, 4, 0)
    run = tr.Run("gru", SequenceModel(TASKS["brackets"].model_config("gru", 4)), 5,
                 steps=[TrainEvent("step", 0, 1, 5, 2.0, 0.1, 0.1)])
    at.session_state[tr.JOB_KEY] = tr.Job(number=1, settings=settings, runs=[run])
    at.run()
    assert not at.exception
    assert [label for label, _ in _models(at).values()] == ["brackets · GRU 4×1 · seed 0 · #1 · stopped at step 1/5"]
    assert any("stopped at step 1/5" in m.value for m in at.markdown)
