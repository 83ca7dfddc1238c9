"""The reference: PyTorch's recurrent equations, one step at a time, in plain torch.

This is documentation that runs. `reference_trace` loops over layers, directions and steps
exactly as the equations read; the fast path in `trace.py` must agree with it (and with the
module's own fused outputs) to float32 precision. Never use this loop in the product.

Gate blocks in PyTorch's weights are stacked in rows: LSTM [i|f|g|o], GRU [r|z|n], RNN [a].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

GATES: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "g", "o", "c", "h"),
    "gru": ("r", "z", "n", "h"),
    "rnn": ("a", "h"),
}


def lstm_cell(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
              b_hh: Tensor | None, w_hr: Tensor | None = None) -> dict[str, Tensor]:
    """One LSTM step. x [in], h [H or P], c [H] -> gates i f g o [H], new c [H], new h [H or P].

    i, f, o = σ(W_i·x + b_i· + W_h·h + b_h·);  g = tanh(…);  c' = f⊙c + i⊙g;  h' = o⊙tanh(c')
    and, with a projection, h' = W_hr·h'.
    """
    pre = w_ih @ x + w_hh @ h  # [4H]
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    i, f, g, o = pre.chunk(4)  # each [H]
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g  # [H]
    h_new = o * torch.tanh(c_new)  # [H]
    if w_hr is not None:
        h_new = w_hr @ h_new  # [P]
    return {"i": i, "f": f, "g": g, "o": o, "c": c_new, "h": h_new}


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
             b_hh: Tensor | None) -> dict[str, Tensor]:
    """One GRU step, PyTorch's convention. x [in], h [H] -> r z n [H], new h [H].

    r, z = σ(W_i·x + b_i· + W_h·h + b_h·);  n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn));
    h' = (1−z)⊙n + z⊙h.  Here z *keeps* the old state (the textbook's update gate is 1−z).
    """
    gi, gh = w_ih @ x, w_hh @ h  # [3H] each
    if b_ih is not None:
        gi, gh = gi + b_ih, gh + b_hh
    i_r, i_z, i_n = gi.chunk(3)
    h_r, h_z, h_n = gh.chunk(3)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return {"r": r, "z": z, "n": n, "h": (1 - z) * n + z * h}


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
             b_hh: Tensor | None, nonlinearity: str = "tanh") -> dict[str, Tensor]:
    """One Elman RNN step. a = W_ih·x + b_ih + W_hh·h + b_hh [H];  h' = tanh(a) or relu(a)."""
    a = w_ih @ x + w_hh @ h
    if b_ih is not None:
        a = a + b_ih + b_hh
    return {"a": a, "h": torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)}


def kind_of(module: nn.Module) -> str:
    """'lstm', 'gru' or 'rnn' for a torch.nn.LSTM / GRU / RNN; TypeError for anything else."""
    for cls, kind in ((nn.LSTM, "lstm"), (nn.GRU, "gru"), (nn.RNN, "rnn")):
        if isinstance(module, cls):
            return kind
    raise TypeError(f"expected torch.nn.LSTM, GRU or RNN, got {type(module).__name__}")


def layer_weights(module: nn.RNNBase, layer: int, reverse: bool) -> dict[str, Tensor | None]:
    """The parameters of one layer and direction: w_ih, w_hh, b_ih, b_hh, w_hr (None when absent)."""
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
    return {name: getattr(module, f"{name}{sfx}", None) for name in names}


@torch.no_grad()
def reference_trace(module: nn.RNNBase, x: Tensor, h0: Tensor | tuple[Tensor, Tensor] | None = None
                    ) -> dict[str, Tensor]:
    """Plain per-step loop over the equations. x [T, in] (one unbatched sequence).

    Returns {"layer{l}.{fwd|bwd}.{gate}": [T, units]}, backward values re-aligned to input
    positions. h0: [L·D, H_out] (LSTM: a tuple (h0, c0) with c0 [L·D, H]); zeros when None.
    """
    kind = kind_of(module)
    n_dir = 2 if module.bidirectional else 1
    h_size = module.proj_size if kind == "lstm" and module.proj_size > 0 else module.hidden_size
    T = x.shape[0]
    if h0 is None:
        h_init = x.new_zeros(module.num_layers * n_dir, h_size)
        c_init = x.new_zeros(module.num_layers * n_dir, module.hidden_size)
    elif kind == "lstm":
        h_init, c_init = h0
    else:
        h_init, c_init = h0, None
    out: dict[str, Tensor] = {}
    layer_in = x  # [T, in]
    for layer in range(module.num_layers):
        outputs = []
        for d, name in enumerate(("fwd", "bwd")[:n_dir]):
            w = layer_weights(module, layer, reverse=d == 1)
            h = h_init[layer * n_dir + d]
            c = c_init[layer * n_dir + d] if kind == "lstm" else None
            steps = range(T - 1, -1, -1) if d == 1 else range(T)
            rows: dict[str, list[Tensor]] = {g: [None] * T for g in GATES[kind]}
            for t in steps:
                xt = layer_in[t]
                if kind == "lstm":
                    v = lstm_cell(xt, h, c, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"],
                                  w["weight_hr"])
                    c = v["c"]
                elif kind == "gru":
                    v = gru_cell(xt, h, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
                else:
                    v = rnn_cell(xt, h, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"],
                                 module.nonlinearity)
                h = v["h"]
                for g in GATES[kind]:
                    rows[g][t] = v[g]
            for g in GATES[kind]:
                out[f"layer{layer}.{name}.{g}"] = torch.stack(rows[g])  # [T, units]
            outputs.append(out[f"layer{layer}.{name}.h"])
        layer_in = torch.cat(outputs, dim=1)  # [T, D·H_out]
    return out
