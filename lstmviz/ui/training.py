"""Streamlit glue for the Train page: a training job that survives Streamlit's reruns.

How Stop works with Streamlit's execution model. A click on any widget asks the server to rerun the
script, and a run in progress is interrupted at its next `st.*` call by an exception raised inside
that call. During training those calls are the throttled progress and curve updates made from the
train callback, right after an optimiser step. So:

- the job (its models, their step histories, its status) is in st.session_state before training
  starts, and every model is trained in place: an interrupted run leaves the weights trained so far;
- the next run (the one the Stop click asked for) finds the job still marked "running" and finishes it
  as stopped (`settle_job`), keeping every model that took at least one step.

While a job runs the page disables its own controls; Stop ends it early, and so does anything else that
interrupts the run (leaving the page, the device switch, Streamlit's own Stop in the header).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
import torch

from lstmviz.checkpoints import CheckpointError, checkpoint_bytes, load_checkpoint
from lstmviz.figures.gradients import training_gradient_heatmap
from lstmviz.figures.training import training_curves
from lstmviz.gradients import GradientRecorder
from lstmviz.models import SequenceModel, init_forget_bias
from lstmviz.tasks import TASKS
from lstmviz.train import LIMITS, TrainEvent, check_limits, gradient_probe, train
from lstmviz.ui.models import add_session_model, session_models
from lstmviz.zoo.build import describe, measure

JOB_KEY = "lstmviz_train_job"
START_KEY = "lstmviz_train_start"  # set by the Train button's callback; the next run starts the job
REFUSED_KEY = "lstmviz_train_refused"
KEPT_KEY = "lstmviz_train_controls"  # the Train page's control values, kept across pages
DOWNLOADS_KEY = "lstmviz_train_downloads"  # model id -> (file name, checkpoint bytes)
REDRAW_S = 0.25  # at most 4 progress/curve updates a second


@dataclass
class Settings:
    """What the user asked for: one model per cell kind, all with the same sizes and schedule."""

    task: str
    cells: list[str]
    hidden_size: int
    num_layers: int
    bidirectional: bool
    epochs: int
    steps_per_epoch: int
    batch_size: int
    seed: int


@dataclass
class Run:
    """One model of a job and what training has reported for it so far."""

    cell: str
    model: SequenceModel
    total_steps: int
    steps: list[TrainEvent] = field(default_factory=list)
    epochs: list[TrainEvent] = field(default_factory=list)
    stopped: bool = False
    model_id: str | None = None
    summary: str = ""
    gradients: GradientRecorder | None = None  # ‖∂L/∂h_s‖ per epoch on a fixed example (training view)


@dataclass
class Job:
    """Models trained side by side (one after another) with the same settings; status is
    "running" from the moment training starts until it ends or a later run settles it."""

    number: int
    settings: Settings
    runs: list[Run]
    status: str = "running"
    stopped: bool = False


def limit_messages(settings: Settings) -> list[str]:
    """Why in-app training refuses these settings (empty when it may go ahead)."""
    out = [] if settings.cells else ["pick at least one cell kind to train"]
    config = TASKS[settings.task].model_config("lstm", settings.hidden_size, num_layers=settings.num_layers,
                                               bidirectional=settings.bidirectional)
    return out + check_limits(config, epochs=settings.epochs, steps_per_epoch=settings.steps_per_epoch,
                              batch_size=settings.batch_size)


def remember_controls(defaults: dict[str, object]) -> None:
    """Give the page's keyed widgets their defaults, and their last values when the user comes back.

    Streamlit forgets a widget's value once a run of another page does not draw it; a copy kept
    under another key restores it. Call before drawing the widgets, and create them without `value=`.
    """
    kept = st.session_state.setdefault(KEPT_KEY, {})
    for key, default in defaults.items():
        if key in st.session_state:
            kept[key] = st.session_state[key]
        else:
            st.session_state[key] = kept.get(key, default)


def request_start() -> None:
    """The Train button's callback: the run it triggers starts a job (and draws controls disabled)."""
    st.session_state[START_KEY] = True


def start_requested() -> bool:
    """Whether this run should start a job (the page then draws its controls disabled)."""
    return bool(st.session_state.get(START_KEY))


def begin_job(settings: Settings) -> Job:
    """Make the job and keep it in the session before any training, so an interrupted run leaves it."""
    st.session_state.pop(START_KEY, None)
    job = new_job(settings)
    st.session_state[JOB_KEY] = job
    return job


def refuse_start(messages: list[str]) -> None:
    """Drop a start request that was refused (e.g. past a limit); the next run shows `messages`."""
    st.session_state.pop(START_KEY, None)
    st.session_state[REFUSED_KEY] = messages


def refusals() -> list[str]:
    """Why the last start request was refused (shown once)."""
    return st.session_state.pop(REFUSED_KEY, [])


def current_job() -> Job | None:
    """This session's latest job, if any."""
    return st.session_state.get(JOB_KEY)


def new_job(settings: Settings) -> Job:
    """Fresh seeded models for every chosen cell (LSTM forget bias +1, as the zoo and CLI use)."""
    task = TASKS[settings.task]
    runs = []
    for cell in settings.cells:
        torch.manual_seed(settings.seed)
        model = SequenceModel(task.model_config(cell.lower(), settings.hidden_size, num_layers=settings.num_layers,
                                                bidirectional=settings.bidirectional))
        init_forget_bias(model, 1.0)
        runs.append(Run(cell.lower(), model, settings.epochs * settings.steps_per_epoch))
    previous = current_job()
    return Job(number=previous.number + 1 if previous else 1, settings=settings, runs=runs)


def run_label(job: Job, run: Run) -> str:
    """A model's name in the pickers, e.g. "brackets · LSTM 32×1 · seed 0 · #2"."""
    s = job.settings
    bi = "bi" if s.bidirectional else ""
    label = f"{s.task} · {bi}{run.cell.upper()} {s.hidden_size}×{s.num_layers} · seed {s.seed} · #{job.number}"
    return label + (f" · stopped at step {len(run.steps)}/{run.total_steps}" if run.stopped else "")


def run_job(job: Job, device: torch.device | str, on_event: Callable[[Run, TrainEvent], None]) -> None:
    """Train the job's models one after another, keeping each as soon as it is done.

    The whole job shares LIMITS["seconds"]; each model gets an equal share of what is left.
    `on_event(run, event)` sees every step and epoch; if it raises (Streamlit interrupting the run),
    the job stays "running" and `settle_job` finishes it on the next run.
    """
    s = job.settings
    deadline = time.monotonic() + LIMITS["seconds"]
    for index, run in enumerate(job.runs):
        if run.model_id is not None:
            continue

        run.gradients = gradient_probe(TASKS[s.task], device)

        def record(event: TrainEvent, run: Run = run) -> None:
            (run.steps if event.kind == "step" else run.epochs).append(event)
            if event.kind == "epoch":
                run.gradients.record(run.model)
            on_event(run, event)

        share = max(0.0, deadline - time.monotonic()) / (len(job.runs) - index)
        result = train(run.model, TASKS[s.task], epochs=s.epochs, steps_per_epoch=s.steps_per_epoch,
                       batch_size=s.batch_size, seed=s.seed, device=device, callback=record, time_limit_s=share)
        run.stopped = result.stopped_early
        if run.steps:  # the time limit may leave none for the last models
            _keep(job, run)
    job.status = "finished"


def settle_job() -> Job | None:
    """Finish a job whose run was interrupted (by Stop or by leaving the page): keep what trained.

    Call at the top of every run of the Train page, before any widget. Returns the job it settled.
    """
    job = current_job()
    if job is None or job.status != "running":
        return None
    job.stopped = True
    for run in job.runs:
        if run.model_id is None and run.steps:
            run.stopped = len(run.steps) < run.total_steps
            _keep(job, run)
    job.status = "finished"
    return job


def stop_message(job: Job) -> str:
    """What a stop kept and what it dropped, in one sentence."""
    kept = sum(run.model_id is not None for run in job.runs)
    parts = [f"Stopped. Kept {kept} model(s) as trained so far"]
    for why, runs in (("not started, so dropped", [r for r in job.runs if not r.steps]),
                      ("not kept (see below)", [r for r in job.runs if r.steps and r.model_id is None])):
        if runs:
            parts.append(f"{why}: {', '.join(r.cell.upper() for r in runs)}")
    return "; ".join(parts) + "."


def _keep(job: Job, run: Run) -> None:
    """Measure a trained model, add it to this session's models and keep its checkpoint for download."""
    task = TASKS[job.settings.task]
    model = run.model.cpu().eval()
    with torch.no_grad():
        metrics = measure(model, task)
    extra = {"epochs": job.settings.epochs, "steps_per_epoch": job.settings.steps_per_epoch,
             "batch_size": job.settings.batch_size, "steps_trained": len(run.steps)}
    data = checkpoint_bytes(model, task=task.name, vocab=task.vocab, metrics=metrics, seed=job.settings.seed,
                            extra=extra)
    try:
        loaded = load_checkpoint(data)
    except CheckpointError as err:  # e.g. weights that diverged to NaN
        run.summary = f"not kept: {err}"
        return
    run.summary = f"held-out: {describe(task.name, metrics)}"
    run.model_id = add_session_model(run_label(job, run), loaded)
    name = f"{task.name}-{run.cell}-h{job.settings.hidden_size}-seed{job.settings.seed}-{job.number}.pt"
    st.session_state.setdefault(DOWNLOADS_KEY, {})[run.model_id] = (name, data)


def run_figure(job: Job, run: Run):
    """The loss/metric curves of one model of a job."""
    return training_curves(
        run_label(job, run), [e.step for e in run.steps], [e.loss for e in run.steps],
        [e.metric for e in run.steps], TASKS[job.settings.task].metric_name, [e.step for e in run.epochs],
        [e.loss for e in run.epochs], [e.metric for e in run.epochs])


def show_job(job: Job, device: torch.device | str | None = None) -> None:
    """A progress bar and one live curve per model; trains the job first when `device` is given.

    A finished job shows only the models that trained (a stopped job may have some that never started).
    """
    total = sum(run.total_steps for run in job.runs)
    shown = job.runs if device is not None else [run for run in job.runs if run.steps]
    progress = st.progress(0.0, text="starting…" if device is not None else "")
    st.caption("Lines: loss and the task's metric on each training batch, step by step; dots: the mean over each "
               "epoch. Under each chart: the model measured on held-out data once training ended.")
    columns = st.columns(max(1, len(shown)))
    charts = [column.empty() for column in columns]
    notes = [column.empty() for column in columns]
    draws = {"n": 0, "at": 0.0}

    def draw(runs: list[Run], text: str) -> None:
        done = sum(len(r.steps) for r in job.runs)
        progress.progress(min(1.0, done / total), text=f"{text}{done}/{total} steps")
        for run in runs:
            i = shown.index(run)
            draws["n"] += 1
            charts[i].plotly_chart(run_figure(job, run), key=f"train_curve_{job.number}_{i}_{draws['n']}")
            if run.summary:
                notes[i].caption(f"{run.cell.upper()}, {run.summary}")
        draws["at"] = time.monotonic()

    def on_event(run: Run, event: TrainEvent) -> None:
        if time.monotonic() - draws["at"] >= REDRAW_S:
            draw([run], f"training {run.cell.upper()} ({job.runs.index(run) + 1} of {len(job.runs)}) · ")

    if device is not None:
        run_job(job, device, on_event)
    timed_out = not job.stopped and any(run.stopped for run in job.runs)
    draw(shown, "stopped · " if job.stopped else f"time limit ({LIMITS['seconds']} s) reached · " if timed_out
         else "done · ")
    for column, run in zip(columns, shown, strict=False):
        if run.gradients is not None and len(run.gradients.history):
            column.plotly_chart(training_gradient_heatmap(run.gradients.history),
                                key=f"train_grad_{job.number}_{run.cell}")
            column.caption("How far back the loss reaches, epoch by epoch: ‖∂L/∂h_s‖ at every step s of one "
                           "fixed example (log colour). A vanishing gradient shows as a dark left side.")


def your_models() -> None:
    """This session's own models (trained here or uploaded), with a download button for trained ones."""
    models = session_models()
    if not models:
        st.caption("No models yet: the ones you train (or upload) appear here and in every page's model picker.")
        return
    downloads = st.session_state.get(DOWNLOADS_KEY, {})
    for model_id, (label, loaded) in models.items():
        left, right = st.columns([4, 1])
        params = sum(p.numel() for p in (loaded.model or loaded.module).parameters())
        left.markdown(f"**{label}** · {loaded.spec.kind.upper()} · {params:,} parameters")
        if model_id in downloads:
            name, data = downloads[model_id]
            right.download_button("Download .pt", data, file_name=name, mime="application/octet-stream",
                                  key=f"download_{model_id}", on_click="ignore")

