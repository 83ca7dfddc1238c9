"""Glue for the Gradients page: trained models and their freshly seeded twins on one input, maps cached.

Session-state keys, all kept in the URL: grad_task (which models read the input), grad_models (the
trained models, comma-separated ids), grad_bias (LSTM forget bias +1 at init), grad_text, grad_step.
Every map is computed once per (model, input) by `gradient_maps` and shared read-only; moving the step
only picks rows out of them (and the per-unit highway of one target step, cached too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from torch import Tensor, nn

from lstmviz.checkpoints import Loaded
from lstmviz.figures import gradients as figs
from lstmviz.gradients import connectivity as module_connectivity
from lstmviz.gradients import decay_curve, decay_distance, loss_gradients, model_connectivity
from lstmviz.highway import highway, highway_units
from lstmviz.inputs import InputError
from lstmviz.models import SequenceModel, init_forget_bias
from lstmviz.run import Prepared, prepare, task_of
from lstmviz.trace import Trace, trace
from lstmviz.ui.compare import examples_for, group_label, group_of
from lstmviz.ui.compare import shared_input as compare_input
from lstmviz.ui.models import Chosen, ModelEntry, all_models
from lstmviz.ui.state import query_default, sync_query
from lstmviz.ui.training import current_job, run_label

MAX_GRADIENT_STEPS = 400  # longest input for the T×T views (maps, highway): 400² pairs per model
URL_KEYS = ["grad_task", "grad_bias", "grad_step", "grad_text"]
INIT_SEED = 0
_KIND_ORDER = {"lstm": 0, "gru": 1, "rnn": 2}
_SOURCE_ORDER = {"zoo": 0, "session": 1, "demo": 2}


@dataclass(frozen=True)
class Maps:
    """Everything the page draws for one model on one input (numpy, read-only).

    connectivity [T, T]; loss {"layer{l}.{dir}.{h|c}": [T]}; highway [T, T] (layer 0, forward);
    decay = (distances [T], mean [T]); distance: the 1% distance or None; trace of the module.
    """

    connectivity: np.ndarray
    loss: dict[str, np.ndarray]
    highway: np.ndarray
    decay: tuple[np.ndarray, np.ndarray]
    distance: int | None
    trace: Trace


def length_error(steps: int, limit: int = MAX_GRADIENT_STEPS) -> str | None:
    """The message for an input past the T×T views' limit, or None when it fits."""
    if steps <= limit:
        return None
    return (f"The sequence has {steps} steps; the gradient views draw T×T maps and are limited to {limit} "
            f"steps. Shorten the input, or truncate it to its first {limit} steps.")


def truncate_text(text: str, tokens: list[str], limit: int = MAX_GRADIENT_STEPS) -> str:
    """`text` cut after its first `limit` tokens, keeping the user's own separators where found."""
    lower, end = text.lower(), 0
    for token in tokens[:limit]:
        found = lower.find(token.lower(), end)
        if found < 0:
            return " ".join(tokens[:limit])
        end = found + len(token)
    return text[:end]


def _groups(models: dict[str, tuple[ModelEntry, Loaded]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for model_id, (_, loaded) in models.items():
        groups.setdefault(group_of(loaded), []).append(model_id)
    for ids in groups.values():
        ids.sort(key=lambda i: (_SOURCE_ORDER[models[i][0].source], models[i][1].spec.bidirectional,
                                _KIND_ORDER[models[i][1].spec.kind], i))
    return groups


def _default_models(ids: list[str], models) -> list[str]:
    """One LSTM, one GRU and one RNN of the group when it has them (zoo first), else its first model."""
    picks = [next(i for i in ids if models[i][1].spec.kind == kind) for kind in _KIND_ORDER
             if any(models[i][1].spec.kind == kind for i in ids)]
    return picks or ids[:1]


def _on_task_change(groups: dict[str, list[str]], models) -> None:
    ids = groups[st.session_state.grad_task]
    st.session_state.grad_models = _default_models(ids, models)
    st.session_state.grad_text = next(iter(examples_for(models[ids[0]][1]).values()))
    st.session_state.grad_step = -1


def pick_models(device) -> list[Chosen]:
    """Sidebar: which models read the input (a task), and which of its trained models to show.

    Defaults: the zoo's adding-problem LSTM, GRU and RNN. The models are kept in the URL.
    """
    models = all_models(device)
    groups = _groups(models)
    default_group = "adding" if "adding" in groups else next(iter(groups))
    query_default("grad_task", default_group, valid=lambda g: g in groups)
    if st.session_state.grad_task not in groups:
        st.session_state.grad_task = default_group
    group = st.sidebar.selectbox("Task", list(groups), key="grad_task", format_func=group_label,
                                 on_change=_on_task_change, args=(groups, models),
                                 help="The models must read the same input.")
    ids = groups[group]
    query_default("grad_models", _default_models(ids, models), lambda s: [i for i in s.split(",") if i],
                  valid=lambda v: bool(v) and all(i in ids for i in v))
    kept = [i for i in st.session_state.grad_models if i in ids]  # an emptied picker stays empty
    st.session_state.grad_models = kept if kept or not st.session_state.grad_models else _default_models(ids, models)
    picked = st.sidebar.multiselect("Trained models", ids, key="grad_models", max_selections=4,
                                    format_func=lambda i: models[i][0].label,
                                    help="Each is also shown at initialisation: a fresh model of the same "
                                         f"size, seed {INIT_SEED}, PyTorch's default init.")
    query_default("grad_bias", False, lambda s: s == "True")
    st.sidebar.checkbox("At init: LSTM forget bias +1", key="grad_bias",
                        help="The zoo and the Train page start their LSTMs this way; PyTorch's default is 0.")
    if any(models[i][0].source == "demo" for i in picked):
        st.sidebar.caption("The untrained demos are already at initialisation (seed 0): both rows show them.")
    chosen, seen = [], {}
    for model_id in picked:
        entry, loaded = models[model_id]
        kind = ("bi" if loaded.spec.bidirectional else "") + loaded.spec.kind.upper()
        seen[kind] = seen.get(kind, 0) + 1
        name = kind if seen[kind] == 1 else f"{kind} {'abcd'[seen[kind] - 1]}"
        chosen.append(Chosen(model_id, name, entry, loaded))
    return chosen


def _set_text(text: str) -> None:
    st.session_state.grad_text = text
    st.session_state.grad_step = -1  # the last step of the new input


def shared_input(loaded: Loaded) -> str:
    """Example buttons and the text box every model reads (kept in the URL)."""
    return compare_input(loaded, key="grad_text", on_example=_set_text)


def read_input(loaded: Loaded, text: str) -> Prepared | None:
    """prepare() the text; on bad input or past the length limit, show why (and offer to truncate)."""
    try:
        prepared = prepare(loaded, text, max_steps=None)
    except InputError as err:
        st.error(f"{err}. Fix the input above; every model reads the same text.")
        return None
    problem = length_error(len(prepared.tokens))
    if problem is not None:
        st.error(problem)
        st.button(f"Truncate to the first {MAX_GRADIENT_STEPS} steps", key="grad_truncate", on_click=_set_text,
                  args=(truncate_text(text, prepared.tokens),))
        return None
    if prepared.unknown:
        st.warning("Not in the vocabulary, read as <unk>: "
                   + ", ".join(repr(prepared.tokens[t]) for t in prepared.unknown))
    return prepared


@st.cache_resource(max_entries=32, show_spinner=False)
def init_model(model_id: str, device: str, forget_bias: bool, _loaded: Loaded) -> nn.Module:
    """A fresh, untrained model of the same configuration, seeded (read-only, shared)."""
    with torch.random.fork_rng(devices=[]):  # leave the global random state as it was
        torch.manual_seed(INIT_SEED)
        model = SequenceModel.from_config(_loaded.model.config) if _loaded.model is not None else _loaded.spec.build()
    if isinstance(model, SequenceModel):
        if forget_bias:
            init_forget_bias(model, 1.0)
    elif forget_bias and _loaded.spec.kind == "lstm":
        with torch.no_grad():  # bias_ih + bias_hh of the forget rows [i|f|g|o]: +1 in all
            for name, param in model.named_parameters():
                if name.startswith("bias_"):
                    param[_loaded.spec.hidden_size:2 * _loaded.spec.hidden_size] = 0.5
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def loss_description(loaded: Loaded) -> str:
    """Which loss L the loss-gradient view differentiates, in words."""
    task = task_of(loaded)
    if task is not None and task.name == "adding" and loaded.model is not None:
        return ("L = (ŷ − y)², the model's squared error at the last step against the true sum y of the marked "
                "values of your input")
    return "L = the sum of the top layer's outputs at the last step (this task has no target for your input)"


def _adding_loss(model: SequenceModel, raw: Tensor):
    """(ŷ − y)² with ŷ the model's final readout (as `SequenceModel.forward` reads it from the top layer's
    output: the last step, and for a bidirectional model the backward direction at step 0) and y the sum of
    the marked values."""
    values, markers = raw[:, 0], raw[:, 1]  # [T], [T]
    target = (values * (markers == 1)).sum()
    hidden = model.config.hidden_size

    def loss(out: Tensor) -> Tensor:  # out [T, D·H]
        final = torch.cat([out[-1, :hidden], out[0, hidden:]]) if model.config.bidirectional else out[-1]
        return ((model.head(final) - target) ** 2).sum()

    return loss


def _compute(model: nn.Module, raw: Tensor, adding: bool) -> Maps:
    if isinstance(model, SequenceModel):
        module = model.rnn
        C = model_connectivity(model, raw)  # [T, T]
        with torch.no_grad():
            x = model.encode(raw[None])[0]  # [T, E]
        loss_fn = _adding_loss(model, raw) if adding and model.config.readout == "final" else None
    else:
        module, x, loss_fn = model, raw, None
        C = module_connectivity(module, x)
    tr = trace(module, x)
    curve = decay_curve(C)
    return Maps(connectivity=C, loss=loss_gradients(module, x, loss_fn=loss_fn),
                highway=highway(tr, module=module if tr.kind == "rnn" else None),
                decay=curve, distance=decay_distance(curve), trace=tr)


@st.cache_resource(max_entries=64, show_spinner="Computing the gradient maps…")
def gradient_maps(key: str, device: str, text: str, _model: nn.Module, _raw: Tensor, adding: bool) -> Maps:
    """All maps of one model (key: its id, or "init:" + id + options) on one input, computed once."""
    return _compute(_model, _raw, adding)


@st.cache_resource(max_entries=256, show_spinner=False)
def units_at(key: str, device: str, text: str, step: int, _maps: Maps, _model: nn.Module) -> np.ndarray:
    """The per-unit highway into `step` (layer 0, forward): [T, H]."""
    module = _model.rnn if isinstance(_model, SequenceModel) else _model
    return highway_units(_maps.trace, step, module=module if _maps.trace.kind == "rnn" else None)


def all_maps(chosen: list[Chosen], prepared: Prepared, text: str, device) -> dict[str, dict[str, tuple]]:
    """{"trained": {name: (key, model, Maps)}, "at init": {…}} for every chosen model."""
    raw = prepared.raw[0]  # [T] ids or [T, F]
    bias = bool(st.session_state.get("grad_bias", False))
    out: dict[str, dict[str, tuple]] = {"trained": {}, "at init": {}}
    for c in chosen:
        adding = c.loaded.task == "adding"
        model = c.loaded.model if c.loaded.model is not None else c.loaded.module
        out["trained"][c.name] = (c.id, model, gradient_maps(c.id, str(device), text, model, raw, adding))
        fresh = init_model(c.id, str(device), bias, c.loaded)
        key = f"init:{c.id}:seed{INIT_SEED}:bias{int(bias)}"
        out["at init"][c.name] = (key, fresh, gradient_maps(key, str(device), text, fresh, raw, adding))
    return out


def step_control(steps: int) -> int:
    """The shared step slider (kept in the URL): the target step t marked in every view."""
    query_default("grad_step", steps - 1, int, valid=lambda s: s >= 0)
    step = int(st.session_state.grad_step)
    st.session_state.grad_step = steps - 1 if step < 0 else min(step, steps - 1)
    if steps == 1:
        st.caption("One step only: step 0.")
        return 0
    return st.slider("Step t (all views)", 0, steps - 1, key="grad_step",
                     help="The target step: its row is outlined in the maps; the highway is drawn into it.")


def distance_table(maps: dict[str, dict[str, tuple]], steps: int) -> list[dict[str, str]]:
    """Rows of the 1%-distance table: one per model, a column per state (trained, at init)."""
    rows = []
    for name in maps["trained"]:
        row = {"model": name}
        for state, per_model in maps.items():
            reach = per_model[name][2].distance
            row[state] = str(reach) if reach is not None else f"not within {steps} steps"
        rows.append(row)
    return rows


def decay_chart(maps: dict[str, dict[str, tuple]]) -> go.Figure:
    """`decay_figure` of every model, trained and at init: the same colour per cell, dashed at init."""
    curves = {f"{name} {state}": m.decay for state, pm in maps.items() for name, (_, _, m) in pm.items()}
    reach = {f"{name} {state}": m.distance for state, pm in maps.items() for name, (_, _, m) in pm.items()}
    fig = figs.decay_figure(curves, reach)
    for trace_ in fig.data:
        if "at init" in (trace_.legendgroup or "") and trace_.mode == "lines":
            trace_.line.dash = "dash"
    return fig


def loss_chart(m: Maps, tokens: list[str], step: int, title: str) -> go.Figure:
    """`loss_gradient_figure` titled for one model, its legend (when there is one) inside the plot."""
    fig = figs.loss_gradient_figure(m.loss, tokens, step)
    fig.update_layout(title={"text": title}, legend={"x": 0.01, "y": 0.99, "xanchor": "left", "yanchor": "top",
                                                             "bgcolor": "rgba(255,255,255,0.7)"})
    return fig


def training_histories() -> dict[str, np.ndarray]:
    """The models of this session's latest Train-page job that recorded ‖∂L/∂h_s‖ per epoch while training:
    label -> history [epochs, T] (on the task's fixed probe example, `lstmviz.train.gradient_probe`)."""
    job = current_job()
    if job is None:
        return {}
    return {run_label(job, run): run.gradients.history for run in job.runs
            if run.gradients is not None and len(run.gradients.history)}


def keep_url() -> None:
    """Write task, models, init option, step and input into the URL."""
    sync_query(URL_KEYS)
    models = ",".join(st.session_state.get("grad_models", []))
    if st.query_params.get("grad_models") != models:
        st.query_params["grad_models"] = models
