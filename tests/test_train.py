"""train(): learning on a tiny run, determinism, callbacks, stopping, limits."""

from dataclasses import replace

import pytest
import torch

from lstmviz.models import SequenceModel
from lstmviz.tasks import get_task
from lstmviz.train import LIMITS, check_limits, pick_device, train


def tiny(task_name: str, cell: str = "lstm", seed: int = 0, hidden: int = 16) -> SequenceModel:
    torch.manual_seed(seed)
    return SequenceModel(get_task(task_name).model_config(cell, hidden, embed_size=8))


@pytest.mark.parametrize(("task_name", "cell"), [("brackets", "lstm"), ("forecast_synthetic", "gru"),
                                                 ("sentiment", "lstm"), ("forecast_lifeexp", "rnn")])
def test_loss_decreases(task_name, cell):
    model = tiny(task_name, cell)
    task = get_task(task_name)
    short = replace(task, T=min(task.T, 20)) if task.T else task
    result = train(model, short, epochs=3, steps_per_epoch=20, batch_size=16, lr=1e-2)
    first, last = result.epochs[0].loss, result.epochs[-1].loss
    assert last < 0.95 * first, (first, last)
    assert not model.training


def test_same_seed_same_weights():
    task = replace(get_task("adding"), T=20)
    states = []
    for _ in range(2):
        model = tiny("adding", hidden=8)
        train(model, task, epochs=2, steps_per_epoch=5, batch_size=8, seed=3)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    other = tiny("adding", hidden=8)
    train(other, task, epochs=2, steps_per_epoch=5, batch_size=8, seed=4)
    assert not torch.equal(states[0]["head.weight"], other.state_dict()["head.weight"])


def test_callback_every_step_and_epoch():
    events = []
    result = train(tiny("sentiment", hidden=8), get_task("sentiment"), epochs=2, steps_per_epoch=3,
                   batch_size=4, callback=events.append)
    assert [e.kind for e in events] == ["step"] * 3 + ["epoch"] + ["step"] * 3 + ["epoch"]
    assert [e.step for e in result.steps] == [1, 2, 3, 4, 5, 6]
    assert all(e.total_steps == 6 and e.elapsed_s >= 0 for e in events)
    assert result.epochs[0].loss == pytest.approx(sum(e.loss for e in result.steps[:3]) / 3)
    assert not result.stopped_early and result.device == str(pick_device())


def test_should_stop_keeps_the_model_trained_so_far():
    model = tiny("brackets", hidden=8)
    before = model.head.weight.detach().clone()
    polls = []

    def stop_after_four() -> bool:
        polls.append(1)
        return len(polls) > 4

    result = train(model, get_task("brackets"), epochs=3, steps_per_epoch=3, batch_size=4,
                   should_stop=stop_after_four)
    assert result.stopped_early and len(result.steps) == 4
    assert [e.step for e in result.epochs] == [3, 4]  # the partial epoch is reported too
    assert not torch.equal(before, model.head.weight)


def test_time_limit_stops_early():
    result = train(tiny("adding", hidden=8), get_task("adding"), epochs=5, steps_per_epoch=100,
                   batch_size=4, time_limit_s=0.0)
    assert result.stopped_early and result.steps == []


def test_check_limits():
    config = get_task("brackets").model_config("lstm", LIMITS["hidden_size"] + 1)
    problems = check_limits(config, epochs=1, steps_per_epoch=10, batch_size=8)
    assert len(problems) == 1 and "hidden_size" in problems[0] and str(LIMITS["hidden_size"]) in problems[0]
    config = get_task("brackets").model_config("lstm", 16)
    assert check_limits(config, epochs=1, steps_per_epoch=10, batch_size=8) == []


@pytest.mark.parametrize("task_name", ["adding", "brackets"])
def test_gradient_probe_records_the_task_loss_gradient_per_step(task_name):
    from lstmviz.train import PROBE_SEED, gradient_probe

    task = get_task(task_name)
    torch.manual_seed(0)
    model = SequenceModel(task.model_config("lstm", 6)).eval()
    recorder = gradient_probe(task)
    row = recorder.record(model)
    recorder.record(model)
    assert recorder.history.shape == (2, len(row))
    # brute force: dL/dh_s is the gradient of the loss for a nudge added to h_s as the model runs on
    x, y = task.batch(1, PROBE_SEED)
    inputs = model.encode(x).detach()  # [1, T, E]
    for s in range(inputs.shape[1]):
        head, (h_s, c_s) = model.rnn(inputs[:, :s + 1])
        nudge = torch.zeros_like(h_s, requires_grad=True)  # [1, 1, H]
        tail, _ = model.rnn(inputs[:, s + 1:], (h_s + nudge, c_s)) if s + 1 < inputs.shape[1] else (head[:, :0], None)
        out = torch.cat([head[:, :s], (h_s + nudge).transpose(0, 1), tail], dim=1)  # [1, T, H]
        pred = model.head(out) if model.config.readout == "per_step" else model.head(out[:, -1])
        (grad,) = torch.autograd.grad(task.loss(pred, y), nudge)
        assert row[s] == pytest.approx(grad.norm().item(), rel=1e-4, abs=1e-8)
