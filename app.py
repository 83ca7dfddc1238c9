"""Home: what lstmviz is, and the whole pipe in one screen: type numbers, see every gate."""

import streamlit as st

from lstmviz.figures.gates import all_gate_heatmaps
from lstmviz.inputs import MAX_STEPS, InputError, parse_numbers
from lstmviz.ui import cached_trace, demo_module, device_control, page_setup

page_setup("lstmviz")
device = device_control()

st.title("lstmviz — see inside LSTM, GRU and RNN cells")
st.markdown(
    "Every number on these pages is what `torch.nn.LSTM`, `GRU` or `RNN` computes with the same weights. "
    "Start here with a small **untrained** model (8 units, fixed seed); the **Inspector** steps through "
    "trained models from the zoo, **Gradients** shows why a vanilla RNN forgets, **Compare** puts LSTM and "
    "GRU side by side, and **Train** trains your own."
)

left, right = st.columns([1, 3])
kind = left.radio("Cell", ["LSTM", "GRU", "RNN"], horizontal=True, key="home_cell")
text = right.text_input("Sequence (numbers)", value="0.5, -1, 2, 0, 0, 1.5, -0.5, 1", key="home_seq",
                        help=f"Numbers separated by commas or spaces, at most {MAX_STEPS}.")
try:
    x = parse_numbers(text)
except InputError as err:
    st.error(f"{err}. Type numbers separated by commas or spaces, e.g. `0.5, -1, 2`.")
    st.stop()

module = demo_module(kind.lower(), str(device))
tr = cached_trace(f"demo:{kind.lower()}", module, x, tokens=[f"{v:g}" for v in x[:, 0]])
st.caption("Each heatmap: steps (your numbers) left to right, the 8 units top to bottom, colour = value. "
           "Sigmoid gates run 0 (closed) → 1 (open).")
figs = all_gate_heatmaps(tr)
for row in range(0, len(figs), 2):
    for col, fig in zip(st.columns(2), figs[row:row + 2], strict=False):
        col.plotly_chart(fig, width="stretch", key=f"home_{row}_{fig.layout.title.text}")
