"""The shipped zoo: every checkpoint loads, is traceable, matches metrics.json; the build runs end to end."""

import json

import pytest
import torch

from lstmviz import trace
from lstmviz.checkpoints import load_checkpoint
from lstmviz.tasks import TASKS, get_task
from lstmviz.zoo import DEFAULT_MODEL, ZOO_DIR, zoo_models
from lstmviz.zoo.build import EXTRA_VARIANTS, SPECS, VARIANTS, build, evaluate, markdown_table, measure, model_name

ROWS = json.loads((ZOO_DIR / "metrics.json").read_text())
BY_NAME = {row["model"]: row for row in ROWS}


def test_zoo_has_every_model_and_nothing_else():
    expected = {model_name(spec.task, cell, bi) for spec in SPECS
                for cell, bi in VARIANTS + EXTRA_VARIANTS.get(spec.task, [])}
    assert set(zoo_models()) == expected == set(BY_NAME)
    assert {spec.task for spec in SPECS} == set(TASKS)
    assert DEFAULT_MODEL in expected


def test_zoo_is_small():
    assert sum(path.stat().st_size for path in zoo_models().values()) < 20 * 2**20


@pytest.mark.parametrize("name", sorted(zoo_models()))
def test_checkpoint_loads_traces_and_matches_metrics_json(name):
    loaded = load_checkpoint(zoo_models()[name])
    model, task = loaded.model, get_task(loaded.task)
    assert not model.training and loaded.vocab == task.vocab
    assert model.config.hidden_size == BY_NAME[name]["hidden_size"]
    for key, value in BY_NAME[name]["metrics"].items():
        assert loaded.metrics[key] == pytest.approx(value, rel=0.05, abs=0.01), key
    text = next(iter(task.examples.values()))
    x, _ = task.encode_text(text)
    with torch.no_grad():
        seen = trace(model.rnn, model.encode(x[None])[0], tokens=task.tokenize(text))
        steps = model.step_outputs(x[None])[0]  # [T,out]
    assert seen.steps == len(x) and steps.shape == (len(x), task.output_size)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_adding_problem_shows_the_claim(cell):
    """At T=100 the LSTM and GRU solve the adding problem; the tanh RNN of the same size does not."""
    model = load_checkpoint(zoo_models()[f"adding-{cell}"]).model
    solved = measure(model, get_task("adding"))["within_0.04_T100"]
    assert solved == pytest.approx(BY_NAME[f"adding-{cell}"]["metrics"]["within_0.04_T100"], abs=0.01)
    assert (solved > 0.8) if cell != "rnn" else (solved < 0.2)


def test_tiny_build_writes_checkpoints_metrics_and_table(tmp_path):
    logged = []
    threads = torch.get_num_threads()
    rows = build(tmp_path, tasks=["forecast_lifeexp"], scale=0.01, log=logged.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "forecast_lifeexp-gru.pt", "forecast_lifeexp-lstm.pt", "forecast_lifeexp-rnn.pt", "metrics.json"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == rows == evaluate(tmp_path)
    assert set(rows[0]["metrics"]) == {"mse", "naive_mse", "mse_ratio"}
    assert len(logged) == 4 and "zoo built" in logged[-1]
    assert torch.get_num_threads() == threads
    table = markdown_table(rows).splitlines()
    assert len(table) == 2 + 3 and "naive last value" in table[2]
