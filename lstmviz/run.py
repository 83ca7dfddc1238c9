"""From what a user typed to a Trace with the model's predictions: the one path every page uses.

A zoo or trained model (an lstmviz checkpoint) reads text the way its task does: characters or
words through its vocabulary (unknown tokens map to index 0, "<unk>", and are reported), or
numbers. A bare uploaded nn.LSTM/GRU/RNN reads numbers, `input_size` per step — or, with a
vocabulary file of exactly `input_size` tokens, one-hot encoded characters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from lstmviz.checkpoints import Loaded
from lstmviz.inputs import MAX_STEPS, InputError, parse_numbers
from lstmviz.trace import Trace, trace

CLASS_LABELS = {"sentiment": ["negative", "positive"]}


@dataclass(frozen=True)
class Prepared:
    """A typed input made ready: `raw` is what the whole model takes ([1, T] ids or [1, T, F]
    numbers), `x` what its recurrent module takes ([T, E]); `tokens` label the steps."""

    raw: Tensor
    x: Tensor
    tokens: list[str]
    unknown: list[int] = field(default_factory=list)


def task_of(loaded: Loaded):
    """The lstmviz task a checkpoint was trained on, or None (bare modules, unknown names)."""
    from lstmviz.tasks import TASKS

    return TASKS.get(loaded.task) if loaded.task else None


def input_help(loaded: Loaded) -> str:
    """One line telling the user what to type for this model."""
    task = task_of(loaded)
    if task is not None:
        return task.text_format
    if loaded.vocab:
        return f"text; each character is one step, one-hot over the {len(loaded.vocab)}-token vocabulary"
    return f"numbers, {loaded.spec.input_size} per step" + (
        " (one step per line or ';'-separated)" if loaded.spec.input_size > 1 else ", separated by commas or spaces")


def prepare(loaded: Loaded, text: str, max_steps: int | None = MAX_STEPS) -> Prepared:
    """Parse `text` for this model; InputError saying what is wrong (empty, too long, not a number…)."""
    if not (text or "").strip():
        raise InputError("the input is empty; type a sequence (" + input_help(loaded) + ")")
    task = task_of(loaded)
    device = next(loaded.module.parameters()).device
    if task is None and not loaded.vocab:
        values = parse_numbers(text, loaded.spec.input_size, max_steps)
        x = torch.from_numpy(values).to(device)
        tokens = [", ".join(f"{v:g}" for v in row) for row in values]
        return Prepared(raw=x[None], x=x, tokens=tokens)
    if task is None:
        return _one_hot(loaded, text, max_steps, device)
    tokens = task.tokenize(text)
    if max_steps is not None and len(tokens) > max_steps:
        raise InputError(f"the sequence has {len(tokens)} steps; the limit is {max_steps}")
    try:
        encoded, unknown = task.encode_text(text)
    except ValueError as err:
        raise InputError(str(err)) from None
    if encoded.is_floating_point() and not torch.isfinite(encoded).all():
        bad = int((~torch.isfinite(encoded)).reshape(len(encoded), -1).any(1).nonzero()[0])
        raise InputError(f"step {bad}: {tokens[bad]} is not allowed; numbers must be finite (no NaN or inf)")
    raw = encoded[None].to(device)  # [1, T] ids or [1, T, F]
    with torch.no_grad():
        x = loaded.model.encode(raw)[0]  # [T, E]
    return Prepared(raw=raw, x=x, tokens=tokens, unknown=unknown)


def _one_hot(loaded: Loaded, text: str, max_steps: int | None, device: torch.device) -> Prepared:
    vocab = loaded.vocab
    tokens = list(text)
    if max_steps is not None and len(tokens) > max_steps:
        raise InputError(f"the sequence has {len(tokens)} steps; the limit is {max_steps}")
    index = {tok: i for i, tok in enumerate(vocab)}
    ids = [index.get(tok, 0) for tok in tokens]
    x = torch.zeros(len(ids), len(vocab), device=device)
    x[torch.arange(len(ids)), torch.tensor(ids)] = 1.0  # [T, V]
    return Prepared(raw=x[None], x=x, tokens=tokens, unknown=[t for t, tok in enumerate(tokens) if tok not in index])


def prediction_labels(loaded: Loaded) -> list[str] | None:
    """Names of the output units: vocabulary tokens, class names, or None for regression."""
    task = task_of(loaded)
    if task is None or task.head == "regress":
        return None
    if task.head == "next_token":
        return list(task.vocab)
    return CLASS_LABELS.get(task.name, [str(k) for k in range(task.output_size)])


def trace_model(loaded: Loaded, prepared: Prepared) -> Trace:
    """The trace of the recurrent module, plus the model's per-step predictions when it has a head.

    predictions [T, out]: probabilities for next-token and class heads, values for regression.
    """
    tr = trace(loaded.module, prepared.x, tokens=prepared.tokens)
    if loaded.model is None:
        return tr
    with torch.no_grad():
        out = loaded.model.step_outputs(prepared.raw)[0]  # [T, out]
    if loaded.model.config.head != "regress":
        out = out.softmax(-1)
    return replace(tr, predictions=out.cpu().numpy(), prediction_labels=prediction_labels(loaded))


def top_k(trace: Trace, step: int, k: int = 5) -> list[tuple[str, float]]:
    """The k most probable outputs at `step`: [(label, probability)], best first."""
    if trace.predictions is None or trace.prediction_labels is None:
        return []
    probs = trace.predictions[step]
    order = np.argsort(-probs)[:k]
    return [(trace.prediction_labels[i], float(probs[i])) for i in order if math.isfinite(probs[i])]
