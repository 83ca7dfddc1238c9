"""Gradients: how far back the output at step t can still feel the input — RNN, LSTM and GRU, trained and at init."""

import streamlit as st

from lstmviz.figures import gradients as figs
from lstmviz.highway import HIGHWAY_LABELS, UNIT_LABELS
from lstmviz.ui import device_control, page_setup
from lstmviz.ui import gradients as ui

page_setup("Gradients", "📉")
device = device_control()
st.title("Gradient flow: why LSTMs remember and RNNs forget")
st.markdown("The same input through each trained model and through a fresh, untrained model of the same size: "
            "how strongly does the output at step t still depend on the input at step s? Every colour scale and "
            "y axis is logarithmic.")
chosen = ui.pick_models(device)
text = ui.shared_input(chosen[0].loaded) if chosen else ""
prepared = ui.read_input(chosen[0].loaded, text) if chosen else None
if not chosen:
    st.error("Pick at least one trained model in the sidebar.")
if prepared is None:
    ui.keep_url()
    st.stop()
maps = ui.all_maps(chosen, prepared, text, device)
tokens = prepared.tokens
step = ui.step_control(len(tokens))
st.markdown(f"**Step t = {step}** · token `{tokens[step]}`")

st.subheader("Connectivity C[t, s] = ‖∂y_t/∂x_s‖")
st.caption("Row t: how much the output at step t (for a task model, the logit or value it predicts there) moves "
           "with the input at each earlier step s. Bright far left of the diagonal = long memory. The outlined row "
           "is step t.")
for state, per_model in maps.items():
    st.markdown(f"**{state}**")
    for col, (name, (_, _, m)) in zip(st.columns(len(per_model)), per_model.items(), strict=True):
        fig = figs.connectivity_heatmap(m.connectivity, tokens, step, title=f"{name} {state} · ‖∂y_t/∂x_s‖")
        col.plotly_chart(fig, width="stretch", key=f"grad_conn_{state}_{name}")

st.subheader("Loss gradient over time ‖∂L/∂h_s‖, ‖∂L/∂c_s‖")
st.caption(f"{ui.loss_description(chosen[0].loaded)}. Each line: how strongly that loss reaches back to the state "
           "at step s (solid h, dashed c for the LSTM; one line per layer and direction). A line that falls to the "
           "left is a vanishing gradient.")
for state, per_model in maps.items():
    for col, (name, (_, _, m)) in zip(st.columns(len(per_model)), per_model.items(), strict=True):
        fig = ui.loss_chart(m, tokens, step, f"{name} {state} · ‖∂L/∂h_s‖")
        col.plotly_chart(fig, width="stretch", key=f"grad_loss_{state}_{name}")

st.subheader("The cell highway")
st.caption("What reaches step t from step s along the recurrent path alone (layer 0, forward): "
           + "; ".join(f"{k.upper()}: {v}" for k, v in HIGHWAY_LABELS.items())
           + ". The RNN has no highway: its gain is a product of matrices W_hh·φ′, which shrinks (or explodes).")
lines = st.columns(len(maps))
for col, (state, per_model) in zip(lines, maps.items(), strict=True):
    curves = {f"{name} {state}": m.highway[step] for name, (_, _, m) in per_model.items()}
    fig = figs.highway_lines(curves, step, tokens)
    fig.update_layout(title={"text": f"{state}: what survives to step {step}"})
    col.plotly_chart(fig, width="stretch", key=f"grad_highway_{state}")
st.caption("Per unit (trained models, layer 0 forward), each row one unit: "
           + "; ".join(f"{k.upper()}: {v}" for k, v in UNIT_LABELS.items())
           + ". Bright = that unit's gain stays near 1 back to step s.")
for col, (name, (key, model, m)) in zip(st.columns(len(chosen)), maps["trained"].items(), strict=True):
    units = ui.units_at(key, str(device), text, step, m, model)
    fig = figs.highway_units_heatmap(units, step, UNIT_LABELS[m.trace.kind], tokens)
    fig.update_layout(title={"text": f"{name} trained · per unit, into step {step}"})
    col.plotly_chart(fig, width="stretch", key=f"grad_units_{name}")

st.subheader("Decay with distance")
st.caption("The mean of C[t, s] over all pairs the same distance t − s apart. The number: the distance at which "
           "it falls below 1% of its value at distance 0 (the × on each line; dashed: at init) — larger means "
           "longer memory.")
left, right = st.columns([3, 1])
left.plotly_chart(ui.decay_chart(maps), width="stretch", key="grad_decay")
right.markdown("**Distance to 1%** (steps)")
right.table(ui.distance_table(maps, len(tokens)))

st.subheader("During training")
histories = ui.training_histories()
if not histories:
    st.info("Train models on the Train page: each one records ‖∂L/∂h_s‖ on a fixed example of its task after "
            "every epoch, and the epoch × step heatmaps appear here.")
else:
    st.caption("Latest Train-page run: one row per epoch, ‖∂L/∂h_s‖ of the top layer at every step s of one fixed "
               "example, with the task's own loss. Watch how far left the bright band reaches as training goes.")
for label, history in histories.items():
    fig = figs.training_gradient_heatmap(history)
    fig.update_layout(title={"text": f"{label} · ‖∂L/∂h_s‖ by epoch"})
    st.plotly_chart(fig, width="stretch", key=f"grad_train_{label}")
ui.keep_url()
