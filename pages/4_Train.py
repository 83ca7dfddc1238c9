"""Train: pick a task and cell kinds, train small models side by side, keep them for this session."""

import streamlit as st

from lstmviz.tasks import TASKS
from lstmviz.train import LIMITS
from lstmviz.ui import device_control, page_setup
from lstmviz.ui import training as tr

page_setup("Train")
device = device_control()
stopped = tr.settle_job()  # a run that was training was interrupted (Stop): keep what it trained
busy = tr.start_requested()

st.title("Train your own models")
st.markdown(
    "Train an LSTM, a GRU and a vanilla RNN on the same task with the same sizes and seed, and watch their "
    "loss side by side. Trained models stay **in this browser session only**: pick them on every other page "
    "(listed as *yours*), or download the checkpoint and upload it later."
)
st.caption(
    f"In-app limits: hidden size ≤ {LIMITS['hidden_size']}, layers ≤ {LIMITS['num_layers']}, "
    f"epochs ≤ {LIMITS['epochs']}, steps per epoch ≤ {LIMITS['steps_per_epoch']}, batch ≤ {LIMITS['batch_size']}, "
    f"and {LIMITS['seconds']} s of training per run (shared by its models; what trained by then is kept). "
    "For bigger models use `python -m lstmviz train … --out model.pt` and the Upload page."
)

tr.remember_controls({"train_task": "adding", "train_cells": ["LSTM", "RNN"], "train_bi": False, "train_hidden": 32,
                      "train_layers": 1, "train_epochs": 5, "train_steps": 30, "train_batch": 32, "train_seed": 0})
left, right = st.columns(2)
task_name = left.selectbox("Task", list(TASKS), key="train_task", disabled=busy)
left.caption(f"{TASKS[task_name].description} Metric: {TASKS[task_name].metric_name}.")
cells = left.multiselect("Cells to train side by side", ["LSTM", "GRU", "RNN"], key="train_cells", disabled=busy)
bidirectional = left.checkbox("Bidirectional", key="train_bi", disabled=busy)
if bidirectional and TASKS[task_name].readout == "per_step":
    left.warning("This task predicts at every step: a bidirectional model also reads the steps after t, "
                 "so where the target is the next step it sees the answer.")
hidden = right.number_input("Hidden size", 1, LIMITS["hidden_size"], key="train_hidden", disabled=busy)
layers = right.number_input("Layers", 1, LIMITS["num_layers"], key="train_layers", disabled=busy)
a, b, c = right.columns(3)
epochs = a.number_input("Epochs", 1, LIMITS["epochs"], key="train_epochs", disabled=busy)
steps = b.number_input("Steps per epoch", 1, LIMITS["steps_per_epoch"], key="train_steps", disabled=busy)
batch = c.number_input("Batch size", 1, LIMITS["batch_size"], key="train_batch", disabled=busy)
seed = right.number_input("Seed", 0, 2**31 - 1, key="train_seed", disabled=busy)

go, stop = st.columns([1, 1])
go.button("Train", type="primary", key="train_go", on_click=tr.request_start, disabled=busy)
stop.button("Stop", key="train_stop", disabled=not busy,
            help="Ends training now; every model keeps the weights it has trained so far.")

settings = tr.Settings(task_name, cells, int(hidden), int(layers), bidirectional, int(epochs), int(steps),
                       int(batch), int(seed))
if busy:
    problems = tr.limit_messages(settings)
    if problems:
        tr.refuse_start(problems)
    else:
        tr.show_job(tr.begin_job(settings), device)
    st.rerun()  # draw the controls enabled again, with the new models (or why not) shown
for message in tr.refusals():
    st.error(message)
if (job := tr.current_job()) is not None:
    if stopped is not None:
        st.info(tr.stop_message(stopped))
    tr.show_job(job)

st.subheader("Your models in this session")
tr.your_models()
