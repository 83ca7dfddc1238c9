"""Compare: LSTM, GRU (and RNN) of one task on the same input, one step control moving them all."""

import streamlit as st

from lstmviz import compare
from lstmviz.figures import compare as figs
from lstmviz.inputs import InputError
from lstmviz.ui import compare as ui
from lstmviz.ui import device_control, page_setup

GATE_NAMES = {"f": "forget f", "i": "input i", "o": "output o", "h": "hidden h", "r": "reset r",
              "z": "z (PyTorch: keep)", "1-z": "1−z (textbook update z)"}

page_setup("Compare")
device = device_control()
st.title("Compare LSTM, GRU and RNN")
st.markdown("The same input through two or three models of one task. The step slider moves all of them; "
            "gates that do the same job sit side by side.")
chosen = ui.pick_models(device)
text = ui.shared_input(chosen[0].loaded)
try:
    traces = ui.run_all(chosen, text, device)
except InputError as err:
    st.error(f"{err}. Fix the input above; every model reads the same text.")
    ui.keep_url()
    st.stop()
first = next(iter(traces.values()))
step = ui.step_control(first.steps, first.tokens)
for col, c in zip(st.columns(len(chosen)), chosen, strict=True):
    col.markdown(f"**{c.name}** — {c.entry.label}  \n{ui.prediction_line(traces[c.name], step)}")

st.subheader("Aligned gates")
if any(tr.kind == "gru" for tr in traces.values()):
    st.info(compare.GRU_CONVENTION)
st.caption("Each heatmap: steps left to right, units top to bottom, 0 (closed) → 1 (open); the outlined column "
           "is the current step. Layer 0, forward direction; stacked and bidirectional models have their own views "
           "below.")
for role, meaning in compare.ROLES.items():
    aligned = {name: compare.aligned_gate(tr, role) for name, tr in traces.items()}
    if not any(aligned.values()):
        continue
    st.markdown(f"**{meaning}**")
    for col, (name, found) in zip(st.columns(len(aligned)), aligned.items(), strict=True):
        if found is None:
            col.caption(f"{name}: no gate plays this part in a {traces[name].kind.upper()}.")
            continue
        gate, values = found
        fig = figs.aligned_heatmap(values, traces[name].tokens, f"{name} · {GATE_NAMES[gate]}", step,
                                   zrange=None if gate == "h" else (0.0, 1.0))
        col.plotly_chart(fig, width="stretch", key=f"cmp_{role}_{name}")

st.subheader("Where the models disagree")
if all(tr.predictions is not None for tr in traces.values()):
    probabilities = first.prediction_labels is not None
    curves = compare.pairwise_divergence({n: tr.predictions for n, tr in traces.items()}, probabilities)
    peak = compare.most_divergent_step(curves)
    st.caption("Per step, how far apart each pair's predictions are (classes: total variation, 0 = same, 1 = "
               "opposite; values: |difference|). A final-readout model's step-t prediction is what it would say if "
               "the input ended at t (a bidirectional one's is a probe of both tracks at t).")
    st.plotly_chart(figs.divergence_figure(curves, first.tokens, step, peak, probabilities), width="stretch",
                    key="cmp_divergence")
    st.button(f"Jump to the most divergent step ({peak}: {first.tokens[peak]})", key="cmp_jump",
              on_click=ui.set_step, args=(peak,))
else:
    st.caption("Bare recurrent modules have no head, so there are no predictions to compare.")

st.subheader("Gate saturation")
st.caption("Each point is one unit: how often its gate is nearly shut (x) and nearly open (y), over your input "
           "and over a sample of 16 sequences of the task's data (Karpathy et al. 2015). Units on the dotted "
           "line are always saturated; units near the origin work in the middle.")
low_col, high_col = st.columns(2)
low = low_col.slider("Left-saturated below", 0.0, 0.5, 0.1, 0.01, key="cmp_low")
high = high_col.slider("Right-saturated above", 0.5, 1.0, 0.9, 0.01, key="cmp_high")
for c in chosen:
    sample = ui.sample_trace(c.id, str(device), c.loaded)
    tables = {"your input": compare.saturation_table(traces[c.name], low, high),
              "task sample": compare.saturation_table(sample, low, high)}
    st.plotly_chart(figs.saturation_scatter(tables, c.name, low, high), width="stretch", key=f"cmp_sat_{c.name}")

st.subheader("LSTM vs GRU, measured")
timed = {}
if st.checkbox(f"Time a short training epoch now ({ui.TIMED_STEPS} Adam steps, batch 64, 1 CPU thread, on a copy)",
               key="cmp_time"):
    try:
        timed = {c.name: ui.epoch_seconds(c.id, ui.TIMED_STEPS, c.loaded) for c in chosen}
    except ValueError as err:
        st.warning(str(err))
st.table(compare.comparison_table({c.name: c.loaded for c in chosen}, timed, ui.TIMED_STEPS))
st.caption("Zoo build time per epoch = the build's training seconds / 10 epochs (1 CPU thread); performance "
           "is the zoo's held-out measurement stored in the checkpoint.")

if chosen[0].loaded.task == "adding":
    st.subheader("Memory of the past")
    st.caption("Left: a linear probe reads the first marked value from the state after the last step (fit on "
               "500 sequences, R² on 500 others, T = 100); 1 = still there, 0 = forgotten. Right: how much the "
               "prediction moves with that value, |∂ŷ/∂v| (a perfect adder has 1 at every distance).")
    probes = {c.name: ui.memory_probe(c.id, str(device), c.loaded) for c in chosen}
    st.plotly_chart(figs.probe_figure(probes), width="stretch", key="cmp_probe")

ui.structure_views(chosen, traces, step)
ui.keep_url()
