"""Shared test helpers."""

import warnings

import torch

warnings.filterwarnings("ignore", message=".*not supported with oneDNN.*")


def make_module(kind: str, input_size: int = 5, hidden: int = 7, *, layers: int = 1, bidirectional: bool = False,
                batch_first: bool = False, proj: int = 0, bias: bool = True, nonlinearity: str = "tanh",
                seed: int = 0) -> torch.nn.RNNBase:
    """A seeded torch.nn.LSTM / GRU / RNN in eval mode."""
    torch.manual_seed(seed)
    kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if kind == "lstm":
        return torch.nn.LSTM(input_size, hidden, proj_size=proj, **kw).eval()
    if kind == "gru":
        return torch.nn.GRU(input_size, hidden, **kw).eval()
    return torch.nn.RNN(input_size, hidden, nonlinearity=nonlinearity, **kw).eval()
