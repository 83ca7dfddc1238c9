"""Checkpoints are data, never code: load with weights_only=True, infer and validate every shape.

Two formats are read:
- a plain `torch.save(module.state_dict(), path)` of a torch.nn.LSTM / GRU / RNN; the
  configuration (kind, sizes, layers, directions, projection, bias) is inferred from the keys;
- an lstmviz checkpoint (`save_checkpoint`): a dict with format, version, the model config,
  its state_dict, vocabulary, task, metrics and seed — plain types and tensors only.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "lstmviz-checkpoint"
FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = 50 * 1024 * 1024  # the largest file we read (upload or CLI)
KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
GATE_ROWS = {4: "lstm", 3: "gru", 1: "rnn"}


class CheckpointError(ValueError):
    """A file that is not a checkpoint we can use; the message says what is wrong."""


@dataclass(frozen=True)
class RecurrentSpec:
    """The configuration of a torch.nn.LSTM / GRU / RNN, as inferred from its state_dict."""

    kind: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    bias: bool = True
    nonlinearity: str = "tanh"

    def build(self) -> nn.RNNBase:
        """A fresh module of this configuration (random weights)."""
        kw: dict[str, Any] = dict(num_layers=self.num_layers, bidirectional=self.bidirectional, bias=self.bias)
        if self.kind == "lstm":
            return nn.LSTM(self.input_size, self.hidden_size, proj_size=self.proj_size, **kw)
        if self.kind == "gru":
            return nn.GRU(self.input_size, self.hidden_size, **kw)
        return nn.RNN(self.input_size, self.hidden_size, nonlinearity=self.nonlinearity, **kw)


@dataclass
class Loaded:
    """What a checkpoint gave us: `module` is always the traceable recurrent module (eval mode);
    `model` is the whole task model for lstmviz checkpoints (None for a bare state_dict)."""

    module: nn.RNNBase
    spec: RecurrentSpec
    model: nn.Module | None = None
    vocab: list[str] | None = None
    task: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def read_file(source: str | os.PathLike | bytes) -> Any:
    """torch.load with weights_only=True from a path or bytes; CheckpointError on any failure."""
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such file")
        if path.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{path}: {path.stat().st_size / 2**20:.1f} MB is over the "
                                  f"{MAX_CHECKPOINT_BYTES // 2**20} MB limit for checkpoints")
        data = path.read_bytes()
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"the file is {len(data) / 2**20:.1f} MB; the limit is "
                              f"{MAX_CHECKPOINT_BYTES // 2**20} MB")
    if not data:
        raise CheckpointError("the file is empty")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" in str(err):
            raise CheckpointError("refused: the file holds Python objects or code, not just tensors "
                                  "(loaded with weights_only=True; nothing in it was run)") from None
        raise CheckpointError("not a PyTorch checkpoint (it could not be unpickled)") from None
    except Exception:  # the unpickler raises many kinds of error on garbage; all mean the same here
        raise CheckpointError("not a PyTorch checkpoint (torch.load could not read it)") from None


def infer_spec(state: dict, nonlinearity: str = "tanh") -> RecurrentSpec:
    """Infer kind, sizes, layers, directions, projection and bias from a recurrent state_dict.

    Every key must be PyTorch's (weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0, …) and every
    shape must agree with the inferred configuration; CheckpointError names the first mismatch.
    """
    if not isinstance(state, dict) or not state:
        raise CheckpointError("not a state dict: expected a dict of tensors like weight_ih_l0")
    unknown = sorted(str(k) for k in state if not (isinstance(k, str) and KEY.match(k)))
    if unknown:
        shown = ", ".join(unknown[:4]) + (" …" if len(unknown) > 4 else "")
        raise CheckpointError(f"unknown keys in the state dict: {shown}; expected only torch.nn.LSTM/GRU/RNN "
                              "keys such as weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise CheckpointError(f"{key} is not a floating-point tensor")
        if not torch.isfinite(value).all():
            raise CheckpointError(f"{key} contains NaN or infinite values")
    if "weight_ih_l0" not in state or "weight_hh_l0" not in state:
        raise CheckpointError("the state dict has no weight_ih_l0 / weight_hh_l0")
    layers = sorted({int(KEY.match(k).group(2)) for k in state})
    if layers != list(range(len(layers))):
        raise CheckpointError(f"layers must be numbered 0..{len(layers) - 1}; found {layers}")
    hh = state["weight_hh_l0"]
    if hh.dim() != 2:
        raise CheckpointError(f"weight_hh_l0 must be 2-D; it has shape {tuple(hh.shape)}")
    proj = state.get("weight_hr_l0")
    hidden = proj.shape[1] if proj is not None and proj.dim() == 2 else hh.shape[1]
    if hh.shape[0] % hidden or hh.shape[0] // hidden not in GATE_ROWS:
        raise CheckpointError(f"weight_hh_l0 has shape {tuple(hh.shape)}: its rows should be 4, 3 or 1 times "
                              f"the hidden size {hidden} (LSTM, GRU, RNN)")
    kind = GATE_ROWS[hh.shape[0] // hidden]
    if proj is not None and kind != "lstm":
        raise CheckpointError("weight_hr_l0 (a projection) only exists in LSTMs")
    spec = RecurrentSpec(kind=kind, input_size=int(state["weight_ih_l0"].shape[-1]), hidden_size=int(hidden),
                         num_layers=len(layers), bidirectional=any(k.endswith("_reverse") for k in state),
                         proj_size=int(proj.shape[0]) if proj is not None else 0,
                         bias="bias_ih_l0" in state, nonlinearity=nonlinearity)
    _check_shapes(state, spec)
    return spec


def _check_shapes(state: dict, spec: RecurrentSpec) -> None:
    expected = {k: tuple(v.shape) for k, v in spec.build().state_dict().items()}
    for key in sorted(set(expected) | set(state)):
        if key not in state:
            raise CheckpointError(f"missing {key} for a {spec.num_layers}-layer "
                                  f"{'bidirectional ' if spec.bidirectional else ''}{spec.kind.upper()}")
        if key not in expected:
            raise CheckpointError(f"unexpected {key} for a {spec.num_layers}-layer {spec.kind.upper()}")
        if tuple(state[key].shape) != expected[key]:
            raise CheckpointError(f"{key} has shape {tuple(state[key].shape)}, expected {expected[key]} "
                                  f"for {spec.kind.upper()}(input {spec.input_size}, hidden {spec.hidden_size})")


def module_from_state(state: dict, nonlinearity: str = "tanh") -> tuple[nn.RNNBase, RecurrentSpec]:
    """Build the module a state_dict belongs to and load it (eval mode)."""
    spec = infer_spec(state, nonlinearity)
    module = spec.build()
    module.load_state_dict(state)
    return module.eval(), spec


def load_checkpoint(source: str | os.PathLike | bytes, nonlinearity: str = "tanh") -> Loaded:
    """Load a bare state_dict or an lstmviz checkpoint from a path or bytes; CheckpointError if unusable.

    nonlinearity only matters for a bare nn.RNN state_dict, whose keys cannot tell tanh from relu.
    """
    obj = read_file(source)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return _load_lstmviz(obj)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        raise CheckpointError("a dict with a state_dict inside but no lstmviz format marker; save the "
                              "module's state_dict itself: torch.save(module.state_dict(), path)")
    module, spec = module_from_state(obj, nonlinearity)
    return Loaded(module=module, spec=spec)


def _load_lstmviz(obj: dict) -> Loaded:
    from lstmviz.models import ModelConfig, SequenceModel

    version = obj.get("version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"lstmviz checkpoint format version {version!r} is not supported; this lstmviz "
                              f"reads version {FORMAT_VERSION}")
    try:
        config = ModelConfig(**obj["config"])
        model = SequenceModel.from_config(config)
        model.load_state_dict(obj["state_dict"])
    except (KeyError, TypeError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0][:300]
        raise CheckpointError(f"the lstmviz checkpoint is inconsistent: {first}") from None
    model.eval()
    rnn_state = {k.split(".", 1)[1]: v for k, v in obj["state_dict"].items() if k.startswith("rnn.")}
    spec = infer_spec(rnn_state, getattr(model.rnn, "nonlinearity", "tanh"))
    return Loaded(module=model.rnn, spec=spec, model=model, vocab=obj.get("vocab"), task=obj.get("task"),
                  metrics=dict(obj.get("metrics") or {}), seed=obj.get("seed"),
                  meta={k: obj[k] for k in ("lstmviz_version", "extra") if k in obj})


def checkpoint_payload(model: nn.Module, *, task: str | None, vocab: list[str] | None,
                       metrics: dict[str, float], seed: int | None, extra: dict | None = None) -> dict:
    """The plain dict an lstmviz checkpoint of a SequenceModel holds (tensors and plain types only)."""
    from lstmviz import __version__

    return {"format": FORMAT, "version": FORMAT_VERSION, "lstmviz_version": __version__,
            "config": asdict(model.config), "state_dict": model.state_dict(), "vocab": vocab,
            "task": task, "metrics": {k: float(v) for k, v in metrics.items()}, "seed": seed,
            "extra": extra or {}}


def save_checkpoint(path: str | os.PathLike, model: nn.Module, **meta: Any) -> None:
    """Write an lstmviz checkpoint atomically (temp file, then rename); meta as in checkpoint_payload."""
    payload = checkpoint_payload(model, **meta)
    atomic_write(path, lambda f: torch.save(payload, f))


def checkpoint_bytes(model: nn.Module, **meta: Any) -> bytes:
    """The bytes save_checkpoint would write (for a download button)."""
    buffer = io.BytesIO()
    torch.save(checkpoint_payload(model, **meta), buffer)
    return buffer.getvalue()


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(binary file) on a temp file beside `path`, then rename; no partial file on error."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
