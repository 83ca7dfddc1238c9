"""`SequenceModel`: input layer → nn.LSTM / nn.GRU / nn.RNN → task head, described by a `ModelConfig`.

    x ──► embed ──► rnn ──► head
    [B,T] token ids  (nn.Embedding)      [B,T,E] ──► [B,T,D·H] ──► per_step: [B,T,out]
    [B,T,F] numbers  (nn.Linear F → F)               h_n [L·D,B,H] ──► final: [B,out]

D is 2 for a bidirectional model, else 1. The recurrent part `model.rnn` is a plain torch module, so
`lstmviz.trace(model.rnn, model.encode(x))` shows exactly what the model computes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
INPUT_KINDS = ("tokens", "numbers")
HEADS = ("next_token", "classify", "regress")
READOUTS = ("per_step", "final")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a `SequenceModel` (stored in checkpoints as a plain dict).

    input_size is the embedding dimension for token inputs and the number of features per step for
    numeric inputs. nonlinearity ("tanh" | "relu") only applies to the vanilla RNN.
    """

    cell: str
    input_kind: str
    vocab_size: int | None
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    nonlinearity: str = "tanh"
    head: str = "regress"
    output_size: int = 1
    readout: str = "per_step"

    def __post_init__(self) -> None:
        choices = {"cell": tuple(CELLS), "input_kind": INPUT_KINDS, "head": HEADS, "readout": READOUTS,
                   "nonlinearity": ("tanh", "relu")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.input_kind == "tokens" and not (self.vocab_size or 0) > 0:
            raise ValueError(f"token inputs need a vocab_size > 0, got {self.vocab_size!r}")
        if min(self.input_size, self.hidden_size, self.num_layers, self.output_size) <= 0:
            raise ValueError("input_size, hidden_size, num_layers and output_size must all be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def num_directions(self) -> int:
        """2 for a bidirectional model, else 1."""
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (safe to store in a weights_only checkpoint)."""
        return asdict(self)


class SequenceModel(nn.Module):
    """A recurrent sequence model with an input layer and a task head; see the module docstring."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        if c.input_kind == "tokens":
            self.embed: nn.Module = nn.Embedding(c.vocab_size, c.input_size)
        else:
            self.embed = nn.Linear(c.input_size, c.input_size)
        extra = {"nonlinearity": c.nonlinearity} if c.cell == "rnn" else {}
        self.rnn = CELLS[c.cell](
            c.input_size, c.hidden_size, num_layers=c.num_layers, batch_first=True,
            bidirectional=c.bidirectional, dropout=c.dropout if c.num_layers > 1 else 0.0, **extra,
        )
        self.head = nn.Linear(c.num_directions * c.hidden_size, c.output_size)

    @classmethod
    def from_config(cls, config: ModelConfig | dict[str, Any]) -> SequenceModel:
        """A freshly initialised model for a `ModelConfig` or its `to_dict()` form."""
        return cls(config if isinstance(config, ModelConfig) else ModelConfig(**config))

    def encode(self, x: Tensor) -> Tensor:
        """The input layer: token ids [B,T] (long) or numbers [B,T,F] → what enters `self.rnn`, [B,T,E]."""
        if self.config.input_kind == "numbers":
            x = x.float()
        return self.embed(x)  # [B,T,E]

    def forward(self, x: Tensor) -> Tensor:
        """Predictions: [B,T,out] for a per_step readout, [B,out] for a final readout.

        The final readout is the reference explainer's classifier: the last layer's final hidden
        state h_n[-1], or for a bidirectional model cat(h_n[-2], h_n[-1]) — the forward direction
        after the last token and the backward direction after the first — through the linear head.
        """
        output, state = self.rnn(self.encode(x))  # output [B,T,D·H]
        if self.config.readout == "per_step":
            return self.head(output)  # [B,T,out]
        h_n = state[0] if isinstance(state, tuple) else state  # [L·D,B,H]
        if self.config.bidirectional:
            return self.head(torch.cat([h_n[-2], h_n[-1]], dim=1))  # [B,out]
        return self.head(h_n[-1])  # [B,out]

    def step_outputs(self, x: Tensor) -> Tensor:
        """The head applied at every step to the top layer's output at t: [B,T,out].

        Per-step models: the same as `forward`. Unidirectional final-readout models: the prediction
        the model would make if the sequence ended at t (row T-1 equals `forward`). Bidirectional
        final-readout models: a probe, not a prefix prediction — row t combines the forward state
        after x[:t+1] with the backward state after reading x[t:] from the end; no row equals
        `forward` unless T == 1, because the final readout takes the backward state at t = 0.
        """
        output, _ = self.rnn(self.encode(x))  # [B,T,D·H]
        return self.head(output)  # [B,T,out]

    def count_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def init_forget_bias(model: SequenceModel, value: float = 1.0) -> None:
    """Set every LSTM forget-gate bias to `value` (split evenly over bias_ih and bias_hh).

    Gate rows are stacked [i|f|g|o], so the forget gate is rows H:2H. A no-op for GRU and RNN.
    """
    if model.config.cell != "lstm":
        return
    hidden = model.config.hidden_size
    with torch.no_grad():
        for name, param in model.rnn.named_parameters():
            if name.startswith("bias_"):
                param[hidden : 2 * hidden] = value / 2
