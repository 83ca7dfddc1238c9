"""Inspector: step through a sequence and watch one unit's gates open and close, with live equations."""

import streamlit as st

from lstmviz.equations import as_latex, equations
from lstmviz.figures import inspector as figs
from lstmviz.figures.gates import gate_heatmap
from lstmviz.ui import device_control, model_picker, page_setup, sync_query
from lstmviz.ui import inspector as ui

page_setup("Inspector", "🔬")
ui.init_state()
device = device_control()
entry, loaded = model_picker(device)
ui.on_model(entry.id, loaded)

st.title("Inspector — step through a sequence")
st.caption("Pick a model and an input, then step through it: every gate of the chosen unit at step t, "
           "with the equations PyTorch computes and the numbers plugged in.")
result = ui.input_section(entry.id, loaded)
if result is None:
    sync_query(ui.URL_KEYS)
    st.stop()
prepared, tr = result

step = ui.step_controls(tr.steps)
layer, direction, unit, suggested = ui.view_controls(tr)
shown = {}  # name -> figure, for the HTML export

left, right = st.columns([1, 1])
with left:
    play = st.toggle("▶ Play in the browser", key="play",
                     help="Adds one animation frame per step to the diagram: press ▶ Play on it; "
                          "the browser steps through the sequence without asking the server.")
    shown["cell diagram"] = figs.cell_diagram(tr, layer, direction, unit, step, animate=play)
    st.plotly_chart(shown["cell diagram"], key="diagram")
    st.caption(figs.how_to_read(tr.kind))
with right:
    st.markdown(f"**Equations** · unit {unit}, step {step} ({tr.tokens[step]!r})")
    st.latex(as_latex(equations(tr, layer, direction, unit, step)))
    if tr.predictions is None:
        st.info("This model is a bare recurrent module without a head: it predicts nothing. "
                "Pick a zoo model to see predictions.")
    elif tr.prediction_labels is None:
        predicted, truth, what = ui.regression_series(loaded, tr, prepared)
        shown["prediction"] = figs.forecast_figure(predicted, truth, step, tr.tokens, what)
    else:
        shown["prediction"] = figs.prediction_bars(tr, step)
    if "prediction" in shown:
        st.plotly_chart(shown["prediction"], key="prediction")
        st.caption(ui.prediction_note(loaded))

gate = st.selectbox("Colour the text by", tr.gates, index=tr.gates.index("c" if tr.kind == "lstm" else "h"),
                    key="view_gate", format_func=lambda g: figs.GATE_TITLES.get(g, g))
shown["text view"] = figs.text_view(tr, layer, direction, unit, gate, step)
st.plotly_chart(shown["text view"], key="text_view", on_select=ui.jump_to_selected_token,
                selection_mode="points")
st.caption("Each token's background is the unit's value at that step: look for units that switch on "
           "inside quotes or brackets. Click a token to jump to its step.")

st.subheader("Every gate over the whole sequence")
st.caption("Steps left to right (labelled t: token), units top to bottom; the red outline is step t. "
           "Hover for exact values.")
heatmaps = [gate_heatmap(tr, g, layer, direction, step) for g in tr.gates]
if tr.num_directions == 2:
    heatmaps.append(figs.output_heatmap(tr, layer, step))
for row in range(0, len(heatmaps), 2):
    for col, fig in zip(st.columns(2), heatmaps[row:row + 2], strict=False):
        col.plotly_chart(fig, key=f"heatmap_{row}_{fig.layout.title.text}")
        shown[f"heatmap {fig.layout.title.text.split(' ·')[0]}"] = fig

picked = st.multiselect("Trajectories of units", list(range(tr.hidden_size)), default=suggested,
                        help="Preselected: the units that vary most over this input.")
shown["trajectories"] = figs.trajectories(tr, layer, direction, picked, step)
st.plotly_chart(shown["trajectories"], key="trajectories")

with st.expander("Export"):
    st.download_button("Trace as CSV", lambda: tr.to_frame().to_csv(index=False), "trace.csv", "text/csv",
                       key="export_csv", on_click="ignore")
    for name, fig in shown.items():
        st.download_button(f"{name} as HTML", lambda fig=fig: fig.to_html(include_plotlyjs="cdn"),
                           f"{name.replace(' ', '_')}.html", "text/html", key=f"export_{name}",
                           on_click="ignore")
sync_query(ui.URL_KEYS)
