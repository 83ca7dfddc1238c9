"""Checkpoints are data: inferred configs, validated shapes, hostile files refused without running."""

import io
import os

import pytest
import torch
from conftest import make_module

from lstmviz.checkpoints import CheckpointError, RecurrentSpec, infer_spec, load_checkpoint, read_file


def _bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("spec", [
    RecurrentSpec("lstm", 5, 7),
    RecurrentSpec("lstm", 5, 7, num_layers=3, bidirectional=True, proj_size=2),
    RecurrentSpec("lstm", 5, 7, bias=False),
    RecurrentSpec("gru", 3, 4, num_layers=2, bidirectional=True),
    RecurrentSpec("rnn", 2, 6, num_layers=2),
    RecurrentSpec("rnn", 2, 6, nonlinearity="relu", bias=False),
])
def test_state_dict_round_trip_infers_the_config(spec, tmp_path):
    module = spec.build()
    path = tmp_path / "m.pt"
    torch.save(module.state_dict(), path)
    loaded = load_checkpoint(path, nonlinearity=spec.nonlinearity)
    assert loaded.spec == spec
    assert loaded.model is None and not loaded.module.training
    for key, value in module.state_dict().items():
        assert torch.equal(loaded.module.state_dict()[key], value)
    x = torch.randn(4, spec.input_size)
    torch.testing.assert_close(loaded.module(x)[0], module(x)[0])


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data = _bytes({"weight_ih_l0": Evil()})
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(data)
    assert str(err.value) == ("refused: the file holds Python objects or code, not just tensors "
                              "(loaded with weights_only=True; nothing in it was run)")
    assert not marker.exists()


@pytest.mark.parametrize(("payload", "message"), [
    (b"", "the file is empty"),
    (b"hello, not a checkpoint", "not a PyTorch checkpoint (torch.load could not read it)"),
    (_bytes([1, 2, 3]), "not a state dict: expected a dict of tensors like weight_ih_l0"),
    (_bytes({"fc.weight": torch.zeros(2, 2)}), "unknown keys in the state dict: fc.weight; expected only "
     "torch.nn.LSTM/GRU/RNN keys such as weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0"),
    (_bytes({"weight_ih_l0": torch.zeros(10, 2), "weight_hh_l0": torch.zeros(10, 5)}),
     "weight_hh_l0 has shape (10, 5): its rows should be 4, 3 or 1 times the hidden size 5 (LSTM, GRU, RNN)"),
    (_bytes({"state_dict": {}}), "a dict with a state_dict inside but no lstmviz format marker; save the module's "
     "state_dict itself: torch.save(module.state_dict(), path)"),
    (_bytes({"format": "lstmviz-checkpoint", "version": 99}),
     "lstmviz checkpoint format version 99 is not supported; this lstmviz reads version 1"),
])
def test_bad_files_get_clear_messages(payload, message):
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(payload)
    assert str(err.value) == message


def test_wrong_shapes_and_values_are_named():
    state = make_module("lstm", layers=2).state_dict()
    state["weight_hh_l1"] = torch.zeros(28, 6)
    with pytest.raises(CheckpointError, match=r"weight_hh_l1 has shape \(28, 6\), expected \(28, 7\)"):
        infer_spec(state)
    state = make_module("gru", layers=2).state_dict()
    del state["bias_hh_l1"]
    with pytest.raises(CheckpointError, match="missing bias_hh_l1 for a 2-layer GRU"):
        infer_spec(state)
    state = make_module("rnn").state_dict()
    state["weight_ih_l0"][0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="weight_ih_l0 contains NaN or infinite values"):
        infer_spec(state)
    state = make_module("rnn").state_dict()
    state["bias_ih_l3"] = state["bias_ih_l0"].clone()
    with pytest.raises(CheckpointError, match=r"layers must be numbered 0..1; found \[0, 3\]"):
        infer_spec(state)


def test_missing_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="no such file"):
        read_file(tmp_path / "nope.pt")
    monkeypatch.setattr("lstmviz.checkpoints.MAX_CHECKPOINT_BYTES", 10)
    path = tmp_path / "big.pt"
    path.write_bytes(b"x" * 11)
    with pytest.raises(CheckpointError, match="over the 0 MB limit|limit for checkpoints"):
        read_file(path)
