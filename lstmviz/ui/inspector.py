"""Streamlit glue for the Inspector page: URL state, the input box and its messages, step controls.

State keys (all kept in the URL): model, text, step, layer, dir, unit. The trace of a (model,
input) pair is computed once and cached; moving the step only redraws.
"""

from __future__ import annotations

import html
import re

import numpy as np
import streamlit as st
import torch

from lstmviz.checkpoints import Loaded
from lstmviz.figures.inspector import most_variable_units
from lstmviz.inputs import MAX_FILE_BYTES, MAX_STEPS, InputError, parse_csv_text
from lstmviz.run import Prepared, input_help, prepare, task_of, trace_model
from lstmviz.trace import Trace
from lstmviz.ui.state import query_default

URL_KEYS = ["model", "text", "step", "layer", "dir", "unit"]
DEMO_EXAMPLES = {
    "pulse": "0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0",
    "ramp": "0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2",
    "sign flips": "1, -1, 1, -1, 1, -1, 1, -1",
}
_LAST_MODEL = "_inspector_last_model"
_CSV_ERROR = "_inspector_csv_error"


def init_state() -> None:
    """Seed the page's state from the URL (first run of a session) or from defaults."""
    st.session_state.setdefault(_LAST_MODEL, None)
    for key, default, cast in (("model", "", str), ("text", "", str), ("step", 0, int), ("layer", 0, int),
                               ("dir", "fwd", str), ("unit", -1, int)):
        valid = {"dir": lambda d: d in ("fwd", "bwd"), "step": lambda n: n >= 0,
                 "layer": lambda n: n >= 0}.get(key, lambda _: True)
        query_default(key, default, cast, valid)


def examples(loaded: Loaded) -> dict[str, str]:
    """Example inputs for this model: its task's, or a few number sequences for bare modules."""
    task = task_of(loaded)
    if task is not None:
        return dict(task.examples)
    if loaded.vocab:
        return {"hello": "hello world"}
    if loaded.spec.input_size == 1:
        return dict(DEMO_EXAMPLES)
    return {"ones": "; ".join(" ".join(["1"] * loaded.spec.input_size) for _ in range(4))}


def on_model(model_id: str, loaded: Loaded) -> None:
    """When the model changed (or on a first visit without input), load its first example."""
    last = st.session_state[_LAST_MODEL]
    st.session_state[_LAST_MODEL] = model_id
    if last == model_id or (last is None and st.session_state.text):
        return
    _load_text(next(iter(examples(loaded).values()), ""))
    st.session_state.layer, st.session_state.dir, st.session_state.unit = 0, "fwd", -1


def _load_text(text: str) -> None:
    st.session_state.text = text
    st.session_state.step = 0


def example_buttons(loaded: Loaded) -> None:
    """One button per example input; a click puts it into the input box and goes to step 0."""
    items = examples(loaded)
    cols = st.columns(len(items) + 1)
    cols[0].markdown("**Examples:**")
    for col, (name, text) in zip(cols[1:], items.items(), strict=True):
        col.button(name, key=f"example_{name}", on_click=_load_text, args=(text,), width="stretch")


def _csv_to_text(loaded: Loaded, text: str, name: str) -> str:
    """CSV rows -> the text format this model's input box takes."""
    task = task_of(loaded)
    size = task.input_size if task is not None else loaded.spec.input_size
    values = parse_csv_text(text, size, name=name)  # [T, size]
    if task is not None and task.name == "adding":
        return ", ".join(f"{v:g}:{m:g}" for v, m in values)
    if size == 1:
        return ", ".join(f"{v:g}" for v in values[:, 0])
    return "; ".join(" ".join(f"{v:g}" for v in row) for row in values)


def _on_upload(loaded: Loaded) -> None:
    st.session_state[_CSV_ERROR] = None
    upload = st.session_state.get("csv")
    if upload is None:
        return
    try:
        raw = upload.getvalue()
        if len(raw) > MAX_FILE_BYTES:
            raise InputError(f"{upload.name}: the file is over the {MAX_FILE_BYTES // 2**20} MB limit")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{upload.name}: not a text file (it is not UTF-8)") from None
        _load_text(_csv_to_text(loaded, text, upload.name))
    except InputError as err:
        st.session_state[_CSV_ERROR] = str(err)


def truncate(loaded: Loaded, text: str, limit: int = MAX_STEPS) -> str:
    """The first `limit` steps of `text`, in this model's own format."""
    task = task_of(loaded)
    if task is None and loaded.vocab or task is not None and task.tokenize("ab") == ["a", "b"]:
        return text[:limit]
    if task is not None and task.input_kind == "tokens":
        return " ".join(task.tokenize(text)[:limit])
    if task is None and loaded.spec.input_size > 1:
        return "; ".join([g.strip() for g in re.split(r"[;\n]+", text) if g.strip()][:limit])
    return ", ".join([item for item in re.split(r"[,;\s]+", text.strip()) if item][:limit])


def _truncate_state(loaded: Loaded) -> None:
    _load_text(truncate(loaded, st.session_state.text))


def is_numeric(loaded: Loaded) -> bool:
    """Whether this model reads numbers (not text)."""
    task = task_of(loaded)
    return task.input_kind == "numbers" if task is not None else not loaded.vocab


@st.cache_resource(max_entries=32, show_spinner="Tracing…")
def _cached_run(model_id: str, device: str, text: str, _loaded: Loaded) -> tuple[Prepared, Trace]:
    prepared = prepare(_loaded, text)
    return prepared, trace_model(_loaded, prepared)


def input_section(model_id: str, loaded: Loaded) -> tuple[Prepared, Trace] | None:
    """Example buttons, the input box (and a CSV upload for numeric models), and every message.

    Returns (prepared input, trace), or None after showing why the input cannot be used.
    """
    example_buttons(loaded)
    numeric = is_numeric(loaded)
    st.text_area("Input sequence", key="text", height=90,
                 help=f"{input_help(loaded)} At most {MAX_STEPS} steps.")
    if numeric:
        st.file_uploader("…or upload a CSV (one step per line)", type=["csv", "txt"], key="csv",
                         on_change=_on_upload, args=(loaded,))
        if st.session_state.get(_CSV_ERROR):
            st.error(st.session_state[_CSV_ERROR])
    device = str(next(loaded.module.parameters()).device)
    try:
        prepared, tr = _cached_run(model_id, device, st.session_state.text, loaded)
    except InputError as err:
        st.error(str(err))
        if "the limit is" in str(err):
            st.button(f"Keep the first {MAX_STEPS} steps", key="truncate", on_click=_truncate_state,
                      args=(loaded,))
        return None
    if prepared.unknown:
        show_unknown(prepared)
    return prepared, tr


def show_unknown(prepared: Prepared) -> None:
    """Warn about tokens outside the vocabulary and show the input with them highlighted."""
    where = ", ".join(f"step {t} {prepared.tokens[t]!r}" for t in prepared.unknown[:10])
    more = f" and {len(prepared.unknown) - 10} more" if len(prepared.unknown) > 10 else ""
    st.warning(f"{len(prepared.unknown)} token(s) are not in the model's vocabulary and map to <unk>: "
               f"{where}{more}.")
    bad = set(prepared.unknown)
    joiner = "" if all(len(t) == 1 for t in prepared.tokens) else " "
    marked = joiner.join(f'<mark style="background:#ff9b9b">{html.escape(tok)}</mark>' if t in bad
                         else html.escape(tok) for t, tok in enumerate(prepared.tokens))
    st.markdown(f'<div style="white-space:pre-wrap;font-family:monospace">{marked}</div>',
                unsafe_allow_html=True)


def _move(delta: int, last: int) -> None:
    st.session_state.step = min(max(st.session_state.step + delta, 0), last)


def step_controls(steps: int) -> int:
    """Previous / Next buttons and the step slider; returns the current step."""
    st.session_state.step = min(max(int(st.session_state.step), 0), steps - 1)
    prev_col, next_col, slider_col = st.columns([2, 2, 9], vertical_alignment="bottom")
    prev_col.button("◀ Previous", key="prev", on_click=_move, args=(-1, steps - 1), width="stretch",
                    disabled=st.session_state.step == 0)
    next_col.button("Next ▶", key="next", on_click=_move, args=(1, steps - 1), width="stretch",
                    disabled=st.session_state.step == steps - 1)
    if steps > 1:
        slider_col.slider("Step", 0, steps - 1, key="step")
    return st.session_state.step


def view_controls(tr: Trace) -> tuple[int, str, int, list[int]]:
    """Layer, direction and unit selects, kept valid for this trace.

    Returns (layer, direction, unit, suggested units): the suggestions are the units whose cell
    state (h for GRU and RNN) varies most over the input in the chosen layer and direction.
    """
    layers, dirs = list(range(tr.num_layers)), list(tr.directions)
    if st.session_state.layer not in layers:
        st.session_state.layer = 0
    if st.session_state.dir not in dirs:
        st.session_state.dir = "fwd"
    units = tr.hidden_size
    state = "c" if tr.kind == "lstm" else "h"
    suggested = most_variable_units(tr, st.session_state.layer, st.session_state.dir, state, k=min(3, units))
    if not 0 <= st.session_state.unit < units:
        st.session_state.unit = suggested[0]
    cols = st.columns(3)
    layer = cols[0].selectbox("Layer", layers, key="layer", disabled=len(layers) == 1)
    direction = cols[1].selectbox("Direction", dirs, key="dir", disabled=len(dirs) == 1,
                                  format_func=lambda d: {"fwd": "forward", "bwd": "backward"}[d])
    marks = {u: f" ★ {k + 1}" for k, u in enumerate(suggested)}
    unit = cols[2].selectbox("Unit", list(range(units)), key="unit",
                             format_func=lambda u: f"{u}{marks.get(u, '')}",
                             help="★ marks the units whose cell state (or h) varies most over this input.")
    return layer, direction, unit, suggested


def jump_to_selected_token() -> None:
    """on_select callback of the text view: a clicked token becomes the current step."""
    points = (st.session_state.get("text_view") or {}).get("selection", {}).get("points", [])
    if points:
        point = points[0]
        step = point.get("point_index", point.get("point_number"))
        if step is not None:
            st.session_state.step = int(step)


def prediction_note(loaded: Loaded) -> str:
    """One line saying what the prediction at step t means for this model's readout."""
    config = getattr(loaded.model, "config", None)
    if config is None or config.readout == "per_step":
        return "The model's output after reading the input up to step t."
    if config.bidirectional:
        return ("A probe, not a prefix prediction: the head applied at step t to the forward state after "
                "x[:t+1] and the backward state after reading from the end back to t.")
    return "What the model would answer if the input ended at step t (the last step is its real answer)."


def regression_series(loaded: Loaded, tr: Trace, prepared: Prepared) -> tuple[np.ndarray, np.ndarray | None, str]:
    """A regression model's outputs per step in the task's own units, the truth, and what they are."""
    task = task_of(loaded)
    predicted = tr.predictions[:, 0]  # [T]
    if task is not None and task.name == "adding":
        raw = prepared.raw[0].cpu().numpy()  # [T, 2]
        truth = np.full(tr.steps, float((raw[:, 0] * raw[:, 1]).sum()))
        return predicted, truth, "predicted sum if the sequence ended at each step · truth: the marked values' sum"
    if task is not None and hasattr(task, "unscale"):
        predicted = task.unscale(torch.from_numpy(predicted)).numpy()
        inputs = task.unscale(prepared.raw[0, :, 0].cpu()).numpy()  # [T]
        truth = np.append(inputs[1:], np.nan)
        return predicted, truth, "forecast of the next value after each step · truth: the next input"
    return predicted, None, "model output after each step"
