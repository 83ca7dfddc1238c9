"""Glue for the Compare page: pick 2–3 models of one task, one shared input and one shared step, cached runs.

Session-state keys, all kept in the URL: cmp_task, cmp_a, cmp_b, cmp_c (models), cmp_step, cmp_text (input).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from lstmviz import compare
from lstmviz.checkpoints import Loaded
from lstmviz.run import prepare, task_of, top_k, trace_model
from lstmviz.trace import Trace
from lstmviz.ui.models import Chosen, ModelEntry, all_models
from lstmviz.ui.state import query_default, sync_query

URL_KEYS = ["cmp_task", "cmp_a", "cmp_b", "cmp_c", "cmp_step", "cmp_text"]
SLOTS = ("cmp_a", "cmp_b", "cmp_c")
NONE = "none"
PREFERRED_GROUPS = ("adding", "sentiment")
_KIND_ORDER = {"lstm": 0, "gru": 1, "rnn": 2}
TIMED_STEPS = 20  # Adam steps in the epoch the page times
DEMO_TEXT = "0.5, -1, 2, 0, 0, 1.5, -0.5, 1, 0, 0, -2, 1"


def group_of(loaded: Loaded) -> str:
    """Models compare on one input when they read the same thing: the same task; bare modules of the same
    input size ("numbers:1"); uploaded text models with the same vocabulary ("text:<size>:<digest>")."""
    if task_of(loaded) is not None:
        return loaded.task
    if loaded.vocab:
        digest = hashlib.sha1("\x00".join(loaded.vocab).encode()).hexdigest()[:8]
        return f"text:{len(loaded.vocab)}:{digest}"
    return f"numbers:{loaded.spec.input_size}"


def group_label(group: str) -> str:
    """How a group reads in the task picker."""
    if group.startswith("numbers:"):
        return f"bare modules, {group[8:]} number(s) per step (untrained demos, your uploads)"
    if group.startswith("text:"):
        return f"your text models, {group.split(':')[1]}-token vocabulary"
    return group


def _groups(models: dict[str, tuple[ModelEntry, Loaded]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for model_id, (_, loaded) in models.items():
        groups.setdefault(group_of(loaded), []).append(model_id)
    source = {"zoo": 0, "session": 1, "demo": 2}
    for ids in groups.values():  # zoo LSTM, GRU, RNN first; bidirectional after
        ids.sort(key=lambda i: (source[models[i][0].source], models[i][1].spec.bidirectional,
                                _KIND_ORDER[models[i][1].spec.kind], i))
    return groups


def _default_group(groups: dict[str, list[str]]) -> str:
    usable = [g for g in groups if len(groups[g]) >= 2]
    for group in PREFERRED_GROUPS:
        if group in usable:
            return group
    return "numbers:1" if "numbers:1" in usable else (usable or list(groups))[0]


def _default_slots(ids: list[str], models) -> list[str]:
    """LSTM, GRU, RNN of the group when it has them, else its first models."""
    picks = []
    for kind in ("lstm", "gru", "rnn"):
        match = [i for i in ids if models[i][1].spec.kind == kind and i not in picks]
        if match:
            picks.append(match[0])
    picks += [i for i in ids if i not in picks]
    return (picks[:3] + [NONE, NONE])[:3] if len(picks) >= 2 else [picks[0], picks[0], NONE]


def _on_group_change(groups: dict[str, list[str]], models) -> None:
    slots = _default_slots(groups[st.session_state.cmp_task], models)
    for key, value in zip(SLOTS, slots, strict=True):
        st.session_state[key] = value
    st.session_state.cmp_text = next(iter(examples_for(models[slots[0]][1]).values()))
    st.session_state.cmp_step = 0


def pick_models(device) -> list[Chosen]:
    """Sidebar: the task, then models A, B and (optional) C of that task. Defaults: the zoo's LSTM, GRU and
    RNN of the adding problem (else sentiment, else the untrained demos)."""
    models = all_models(device)
    groups = _groups(models)
    query_default("cmp_task", _default_group(groups), valid=lambda g: g in groups)
    if st.session_state.cmp_task not in groups:
        st.session_state.cmp_task = _default_group(groups)
    group = st.sidebar.selectbox("Task", list(groups), key="cmp_task", format_func=group_label,
                                 on_change=_on_group_change, args=(groups, models),
                                 help="Models are compared on one input, so they must read the same thing.")
    ids = groups[group]
    defaults = _default_slots(ids, models)
    chosen = []
    for key, letter, default in zip(SLOTS, "ABC", defaults, strict=True):
        options = ids + [NONE] if key == "cmp_c" else ids
        query_default(key, default, valid=lambda v, o=options: v in o)
        if st.session_state[key] not in options:
            st.session_state[key] = default
        model_id = st.sidebar.selectbox(f"Model {letter}", options, key=key,
                                        format_func=lambda i: "— none —" if i == NONE else models[i][0].label)
        if model_id != NONE:
            entry, loaded = models[model_id]
            kind = ("bi" if loaded.spec.bidirectional else "") + loaded.spec.kind.upper()
            chosen.append(Chosen(model_id, f"{letter} · {kind}", entry, loaded))
    return chosen


def _set_text(text: str) -> None:
    st.session_state.cmp_text = text


def examples_for(loaded: Loaded) -> dict[str, str]:
    """One-click inputs: the task's examples, or a sample for bare modules."""
    task = task_of(loaded)
    if task is not None:
        return task.examples
    return {"sample text": "".join(loaded.vocab[1:9])} if loaded.vocab else {"demo numbers": DEMO_TEXT}


def shared_input(loaded: Loaded, key: str = "cmp_text", on_example=_set_text) -> str:
    """The one input every model on a page reads: the task's examples as one-click buttons (keys
    "{prefix}_ex_{name}"), and a text box under `key`, kept in the URL so a shared link shows the same
    sequence. on_example(text) runs when an example is clicked (it must put the text under `key`)."""
    from lstmviz.run import input_help

    examples = examples_for(loaded)
    query_default(key, next(iter(examples.values())))
    prefix = key.split("_")[0]
    cols = st.columns(len(examples) + 1)
    cols[0].markdown("**Examples:**")
    for col, (name, text) in zip(cols[1:], examples.items(), strict=True):
        col.button(name, key=f"{prefix}_ex_{name}", on_click=on_example, args=(text,), width="stretch")
    return st.text_area("Input (the same for every model)", key=key, height=80, help=input_help(loaded))


@st.cache_resource(max_entries=48, show_spinner=False)
def _trace(model_id: str, device: str, text: str, _loaded: Loaded) -> tuple[Trace, list[int]]:
    prepared = prepare(_loaded, text)
    return trace_model(_loaded, prepared), prepared.unknown


def run_all(chosen: list[Chosen], text: str, device) -> dict[str, Trace]:
    """Every chosen model's trace (with predictions) of the input: {name: Trace}; InputError as prepare raises."""
    out = {}
    for c in chosen:
        tr, unknown = _trace(c.id, str(device), text, c.loaded)
        if unknown and not out:
            st.warning(f"Not in the vocabulary, read as <unk>: {', '.join(repr(tr.tokens[t]) for t in unknown)}")
        out[c.name] = tr
    return out


def _shift(delta: int, steps: int) -> None:
    st.session_state.cmp_step = min(max(st.session_state.cmp_step + delta, 0), steps - 1)


def set_step(step: int) -> None:
    """Callback: move the shared step (the divergence button uses it)."""
    st.session_state.cmp_step = step


def step_control(steps: int, tokens: list[str]) -> int:
    """ONE step slider with ◀ / ▶ moving every model together; the step is kept in the URL."""
    query_default("cmp_step", 0, int, valid=lambda s: s >= 0)
    st.session_state.cmp_step = min(max(int(st.session_state.cmp_step), 0), steps - 1)
    if steps == 1:
        st.caption("One step only: step 0.")
        return 0
    prev, slider, nxt = st.columns([1, 10, 1], vertical_alignment="bottom")
    prev.button("◀ prev", key="cmp_prev", on_click=_shift, args=(-1, steps), width="stretch")
    nxt.button("next ▶", key="cmp_next", on_click=_shift, args=(1, steps), width="stretch")
    step = slider.slider("Step (all models)", 0, steps - 1, key="cmp_step",
                         help="Moves every model's views together; the step is part of the page's URL.")
    st.markdown(f"**Step {step}** · token `{tokens[step]}`")
    return step


def keep_url() -> None:
    """Write the task, the models, the step and the input into the URL."""
    sync_query(URL_KEYS)


def prediction_line(tr: Trace, step: int) -> str:
    """What the model outputs at `step`, in words."""
    if tr.predictions is None:
        return "no head (a bare recurrent module): no predictions"
    if tr.prediction_labels is None:
        return f"prediction at step {step}: **{tr.predictions[step, 0]:.4f}**"
    return f"at step {step}: " + ", ".join(f"{label} {p:.0%}" for label, p in top_k(tr, step, 3))


@st.cache_resource(max_entries=16, show_spinner="Tracing a sample of the task's data…")
def sample_trace(model_id: str, device: str, _loaded: Loaded) -> Trace:
    """Gates over 16 sequences of the task's data (N(0,1) numbers for bare modules), joined along time."""
    return compare.stacked_trace(_loaded.module, compare.sample_inputs(_loaded, n=16, seed=0))


@st.cache_resource(max_entries=16, show_spinner="Probing memory on 1000 adding-problem sequences…")
def memory_probe(model_id: str, device: str, _loaded: Loaded) -> compare.Probe:
    """`compare.memory_probe`, once per model."""
    return compare.memory_probe(_loaded)


@st.cache_resource(max_entries=16, show_spinner="Timing a short training epoch…")
def epoch_seconds(model_id: str, steps: int, _loaded: Loaded) -> float:
    """`compare.time_epoch` of a copy of the model, measured once per model."""
    return compare.time_epoch(_loaded, steps=steps)


def structure_views(chosen: list[Chosen], traces: dict[str, Trace], step: int) -> None:
    """For a bidirectional model, its forward and backward tracks aligned by position with the output
    concatenated and summed; for a stacked model, its layers side by side (keep gate and h)."""
    from lstmviz.figures.compare import aligned_heatmap

    for c in chosen:
        tr = traces[c.name]
        if tr.num_directions == 2:
            st.subheader(f"{c.name}: forward and backward, aligned by input position")
            st.caption("Row t of the forward track has read x₀…x_t, of the backward track x_t…x_T−1 (top layer). "
                       "torch outputs them concatenated, and the head reads that; summed is the other common merge.")
            parts = compare.bidirectional_outputs(tr)
            for col, (label, values) in zip(st.columns(2) * 2, parts.items(), strict=True):
                col.plotly_chart(aligned_heatmap(values, tr.tokens, f"{c.name} · {label}", step, zrange=None),
                                 width="stretch", key=f"cmp_bi_{c.name}_{label}")
        if tr.num_layers > 1:
            st.subheader(f"{c.name}: its {tr.num_layers} layers side by side (forward direction)")
            for layer, col in enumerate(st.columns(tr.num_layers)):
                keep = compare.aligned_gate(tr, "keep", layer)
                if keep is not None:
                    name = "z (PyTorch: keep)" if keep[0] == "z" else keep[0]
                    col.plotly_chart(aligned_heatmap(keep[1], tr.tokens, f"{c.name} · layer {layer} · {name}", step),
                                     width="stretch", key=f"cmp_layer_keep_{c.name}_{layer}")
                col.plotly_chart(aligned_heatmap(tr.get(layer, "fwd", "h"), tr.tokens, f"{c.name} · layer {layer} · h",
                                                 step, zrange=None), width="stretch", key=f"cmp_layer_{c.name}_{layer}")
