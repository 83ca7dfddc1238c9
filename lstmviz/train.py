"""`train(model, task, …)`: Adam with gradient clipping, seeded, reporting every step and epoch.

On CPU the same seed and the same initial weights give bit-identical trained weights: batches come
from a torch.Generator seeded with `seed`, and the global RNG (dropout masks) is seeded too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from lstmviz.gradients import GradientRecorder
from lstmviz.models import ModelConfig, SequenceModel
from lstmviz.tasks import Task

GRAD_CLIP = 1.0  # max global gradient norm per step

# Limits of training inside the app (the Train page shows them and refuses bigger requests).
LIMITS = {
    "hidden_size": 256,  # units per layer and direction
    "num_layers": 3,
    "epochs": 50,
    "steps_per_epoch": 500,
    "batch_size": 256,
    "seconds": 180,  # wall-clock budget per training run; the model trained so far is kept
}


@dataclass(frozen=True)
class TrainEvent:
    """One report: kind "step" (one optimiser step) or "epoch" (means over that epoch's steps)."""

    kind: str
    epoch: int  # 0-based
    step: int  # optimiser steps done so far
    total_steps: int
    loss: float
    metric: float
    elapsed_s: float


@dataclass
class TrainResult:
    """What a run did: every step and epoch event, wall time, and whether it stopped before the end."""

    steps: list[TrainEvent] = field(default_factory=list)
    epochs: list[TrainEvent] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_early: bool = False
    device: str = "cpu"


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`device` if given, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_limits(config: ModelConfig, *, epochs: int, steps_per_epoch: int, batch_size: int) -> list[str]:
    """Messages for every request past `LIMITS` (empty when in-app training may go ahead)."""
    asked = {"hidden_size": config.hidden_size, "num_layers": config.num_layers, "epochs": epochs,
             "steps_per_epoch": steps_per_epoch, "batch_size": batch_size}
    return [f"{name} = {value} is over the in-app limit of {LIMITS[name]}; train bigger models with "
            f"`python -m lstmviz train` and upload the checkpoint"
            for name, value in asked.items() if value > LIMITS[name]]


def train(
    model: SequenceModel,
    task: Task,
    *,
    epochs: int,
    steps_per_epoch: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    callback: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    time_limit_s: float | None = None,
) -> TrainResult:
    """Train `model` in place on batches from `task`; returns the history.

    `callback(event)` runs after every step and every epoch. `should_stop()` is polled before every
    step, and `time_limit_s` checked there too: either ends training at once and keeps the weights
    trained so far. The model is left in eval mode on the device it trained on.
    """
    dev = pick_device(device)
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed)
    model.to(dev).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    total = epochs * steps_per_epoch
    result = TrainResult(device=str(dev))
    start = time.perf_counter()

    def report(event: TrainEvent) -> None:
        (result.steps if event.kind == "step" else result.epochs).append(event)
        if callback is not None:
            callback(event)

    for epoch in range(epochs):
        done = len(result.steps)
        for step in range(done, done + steps_per_epoch):
            out_of_time = time_limit_s is not None and time.perf_counter() - start > time_limit_s
            if out_of_time or (should_stop is not None and should_stop()):
                result.stopped_early = True
                break
            x, y = task.batch(batch_size, data, T=task.train_length(step / total))
            x, y = x.to(dev), y.to(dev)  # x [B,T] or [B,T,F]
            pred = model(x)  # [B,T,out] or [B,out]
            loss = task.loss(pred, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimiser.step()
            report(TrainEvent("step", epoch, step + 1, total, loss.item(), task.metric(pred.detach(), y),
                              time.perf_counter() - start))
        these = result.steps[done:]
        if these:
            report(TrainEvent("epoch", epoch, these[-1].step, total, sum(e.loss for e in these) / len(these),
                              sum(e.metric for e in these) / len(these), time.perf_counter() - start))
        if result.stopped_early:
            break
    result.elapsed_s = time.perf_counter() - start
    model.eval()
    return result


PROBE_SEED = 7  # the fixed example whose per-step gradients the training view records


def gradient_probe(task: Task, device: str | torch.device = "cpu") -> GradientRecorder:
    """A recorder for the training view (after RNNbow): ‖∂L/∂h_s‖ of the top layer per step s, on one
    fixed example of the task, with L the task's own loss on it. Call `.record(model)` after each epoch."""
    x, y = task.batch(1, PROBE_SEED)  # x [1,T] or [1,T,F]
    y = y.to(device)

    def loss(model: SequenceModel, out: torch.Tensor) -> torch.Tensor:  # out [T, D·H]
        if model.config.readout == "per_step":
            return task.loss(model.head(out)[None], y)  # head [1,T,out]
        hidden = model.config.hidden_size
        final = torch.cat([out[-1, :hidden], out[0, hidden:]]) if model.config.bidirectional else out[-1]
        return task.loss(model.head(final)[None], y)  # head [1,out]

    return GradientRecorder(x[0].to(device), loss)
