"""SequenceModel: shapes for every input kind and readout, the reference classifier, step outputs."""

import pytest
import torch
from torch import nn

from lstmviz.models import ModelConfig, SequenceModel, init_forget_bias


def tokens(cell="lstm", **kw) -> ModelConfig:
    base = dict(cell=cell, input_kind="tokens", vocab_size=11, input_size=5, hidden_size=7,
                head="classify", output_size=3, readout="final")
    return ModelConfig(**(base | kw))


def numbers(cell="gru", **kw) -> ModelConfig:
    base = dict(cell=cell, input_kind="numbers", vocab_size=None, input_size=2, hidden_size=6,
                head="regress", output_size=1, readout="per_step")
    return ModelConfig(**(base | kw))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_shapes(cell, bidirectional, num_layers):
    torch.manual_seed(0)
    x = torch.randint(11, (4, 9))  # [B,T]
    final = SequenceModel(tokens(cell, bidirectional=bidirectional, num_layers=num_layers))
    assert final.encode(x).shape == (4, 9, 5)
    assert final(x).shape == (4, 3)
    assert final.step_outputs(x).shape == (4, 9, 3)
    per_step = SequenceModel(numbers(cell, bidirectional=bidirectional, num_layers=num_layers))
    assert per_step(torch.rand(4, 9, 2)).shape == (4, 9, 1)


def test_bidirectional_classifier_is_the_reference_one():
    """Embedding → bidirectional LSTM → cat(h_n[-2], h_n[-1]) → linear, as in the explainer."""
    torch.manual_seed(0)
    model = SequenceModel(tokens(bidirectional=True)).eval()
    assert isinstance(model.embed, nn.Embedding) and isinstance(model.rnn, nn.LSTM)
    x = torch.randint(11, (2, 6))
    output, (hidden, _) = model.rnn(model.embed(x))
    expected = model.head(torch.cat([hidden[-2], hidden[-1]], dim=1))
    assert torch.allclose(model(x), expected)
    # the same two states read from the output sequence: forward at the end, backward at the start
    assert torch.allclose(hidden[-2], output[:, -1, :7]) and torch.allclose(hidden[-1], output[:, 0, 7:])


def test_unidirectional_step_outputs_are_prefix_predictions():
    torch.manual_seed(0)
    model = SequenceModel(tokens("gru", num_layers=2)).eval()
    x = torch.randint(11, (3, 8))
    steps = model.step_outputs(x)  # [3,8,3]
    for t in (0, 4, 7):
        assert torch.allclose(steps[:, t], model(x[:, : t + 1]), atol=1e-6)


def test_per_step_forward_equals_step_outputs():
    model = SequenceModel(numbers("rnn", nonlinearity="relu")).eval()
    x = torch.rand(2, 5, 2)
    assert torch.equal(model(x), model.step_outputs(x))
    assert model.rnn.nonlinearity == "relu"


def test_config_round_trip_and_parameter_count():
    cfg = tokens(num_layers=2, dropout=0.3)
    model = SequenceModel.from_config(cfg.to_dict())
    assert model.config == cfg and model.rnn.dropout == 0.3
    assert model.count_parameters() == sum(p.numel() for p in model.parameters())
    assert SequenceModel(tokens(dropout=0.3)).rnn.dropout == 0.0  # one layer: nothing between layers


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cell", "transformer", "cell must be one of"),
    ("vocab_size", None, "vocab_size"),
    ("hidden_size", 0, "positive"),
    ("dropout", 1.0, "dropout"),
    ("readout", "mean", "readout"),
])
def test_bad_config_names_the_problem(field, value, message):
    with pytest.raises(ValueError, match=message):
        tokens(**{field: value})


def test_init_forget_bias_sets_only_the_forget_rows():
    model = SequenceModel(tokens(num_layers=2, bidirectional=True))
    init_forget_bias(model, 2.0)
    for name, param in model.rnn.named_parameters():
        if name.startswith("bias_"):
            total = param[7:14].detach()
            assert torch.allclose(total, torch.full((7,), 1.0)), name
    gru = SequenceModel(tokens("gru"))
    before = {k: v.clone() for k, v in gru.state_dict().items()}
    init_forget_bias(gru, 2.0)
    assert all(torch.equal(before[k], v) for k, v in gru.state_dict().items())
