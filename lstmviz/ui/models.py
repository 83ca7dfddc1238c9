"""The model registry a page picks from: demo (seeded, untrained), the shipped zoo, this session's own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from torch import nn

from lstmviz.checkpoints import Loaded, RecurrentSpec, load_checkpoint
from lstmviz.trace import Trace, trace
from lstmviz.zoo import DEFAULT_MODEL, zoo_models

_SESSION_KEY = "lstmviz_user_models"


@dataclass(frozen=True)
class ModelEntry:
    """One selectable model. `id` is stable ("zoo:adding-lstm", "demo:gru") or unique per session."""

    id: str
    label: str
    source: str  # "zoo", "demo" or "session"


@dataclass(frozen=True)
class Chosen:
    """A model picked on a page: its id, a short name unique on that page, its entry and weights."""

    id: str
    name: str
    entry: ModelEntry
    loaded: Loaded


def _freeze(module: nn.Module) -> nn.Module:
    """Shared models are read-only: eval mode and no parameter gradients."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


@st.cache_resource(show_spinner=False)
def demo_module(kind: str, device: str = "cpu", input_size: int = 1, hidden_size: int = 8,
                seed: int = 0) -> nn.RNNBase:
    """A small seeded, untrained nn.LSTM / GRU / RNN (read-only, shared by all sessions)."""
    torch.manual_seed(seed)
    module = RecurrentSpec(kind, input_size, hidden_size).build()
    return _freeze(module.to(device))


@st.cache_resource(show_spinner="Loading the model zoo…")
def _zoo(device: str) -> dict[str, Loaded]:
    """Every shipped checkpoint, loaded once per device for every session (read-only)."""
    paths = zoo_models()
    ordered = sorted(paths, key=lambda name: name != DEFAULT_MODEL)  # the app opens on the default
    out = {}
    for name in ordered:
        loaded = load_checkpoint(paths[name])
        model = loaded.model if loaded.model is not None else loaded.module
        _freeze(model.to(device))
        out[f"zoo:{name}"] = loaded
    return out


def session_models() -> dict[str, tuple[str, Loaded]]:
    """This browser session's own models: id -> (label, Loaded). Nobody else sees them."""
    return st.session_state.setdefault(_SESSION_KEY, {})


def add_session_model(label: str, loaded: Loaded) -> str:
    """Keep a trained or uploaded model in this session only; returns its id."""
    model_id = f"session:{uuid.uuid4().hex[:12]}"
    session_models()[model_id] = (label, loaded)
    return model_id


@st.cache_resource(show_spinner=False)
def _demos(device: str) -> dict[str, Loaded]:
    """Untrained seeded models (8 units, one number per step), to compare against trained ones."""
    return {f"demo:{kind}": Loaded(module=demo_module(kind, device), spec=RecurrentSpec(kind, 1, 8))
            for kind in ("lstm", "gru", "rnn")}


def all_models(device: torch.device | str) -> dict[str, tuple[ModelEntry, Loaded]]:
    """Zoo first, then this session's models, then the untrained demos: id -> (entry, Loaded)."""
    device = str(device)
    out = {}
    for model_id, loaded in _zoo(device).items():
        out[model_id] = (ModelEntry(model_id, f"zoo · {model_id[4:]}", "zoo"), loaded)
    for model_id, (label, loaded) in session_models().items():
        model = loaded.model if loaded.model is not None else loaded.module
        model.to(device)
        out[model_id] = (ModelEntry(model_id, f"yours · {label}", "session"), loaded)
    for model_id, loaded in _demos(device).items():
        out[model_id] = (ModelEntry(model_id, f"untrained · {model_id[5:].upper()} (8 units, seed 0)", "demo"), loaded)
    return out


def model_picker(device: torch.device | str, key: str = "model", label: str = "Model",
                 where=st.sidebar) -> tuple[ModelEntry, Loaded]:
    """A select box over all models for this session, its choice kept in session_state[key]."""
    models = all_models(device)
    ids = list(models)
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    chosen = where.selectbox(label, ids, key=key, format_func=lambda i: models[i][0].label)
    return models[chosen]


@st.cache_resource(max_entries=64, show_spinner=False)
def _trace_cached(model_id: str, device: str, x_bytes: bytes, shape: tuple[int, ...], tokens: tuple[str, ...],
                  _module: nn.Module) -> Trace:
    x = torch.from_numpy(np.frombuffer(x_bytes, dtype=np.float32).reshape(shape).copy())
    return trace(_module, x.to(device), tokens=list(tokens))


def cached_trace(model_id: str, module: nn.Module, x: torch.Tensor | np.ndarray, tokens: list[str] | None = None
                 ) -> Trace:
    """trace(module, x), computed once per (model id, device, input) and shared read-only.

    Session model ids are random per session, so one user's trace is never served to another.
    """
    arr = np.ascontiguousarray(torch.as_tensor(x).detach().cpu().numpy(), dtype=np.float32)
    device = str(next(module.parameters()).device)
    tokens = tuple(tokens) if tokens is not None else tuple(str(t) for t in range(arr.shape[0]))
    return _trace_cached(model_id, device, arr.tobytes(), arr.shape, tokens, module)
