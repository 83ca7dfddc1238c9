"""AppTest: the home page draws one heatmap per gate of a seeded model, and refuses bad input."""

import numpy as np
import pytest
import torch

from lstmviz import trace
from lstmviz.checkpoints import RecurrentSpec

from .conftest import array, figures, page_path, run_page


@pytest.fixture
def at():
    return run_page(page_path("app.py"))


def test_lstm_by_default_shows_every_gate_with_true_values(at):
    figs = figures(at)
    titles = [f["layout"]["title"]["text"] for f in figs]
    assert [t.split(" ·")[0] for t in titles] == ["input gate i", "forget gate f", "candidate g (C̃)",
                                                   "output gate o", "cell state c", "hidden state h"]
    torch.manual_seed(0)
    module = RecurrentSpec("lstm", 1, 8).build().eval()
    x = torch.tensor([[0.5], [-1], [2], [0], [0], [1.5], [-0.5], [1]])
    want = trace(module, x).values["layer0.fwd.f"]
    np.testing.assert_allclose(array(figs[1]["data"][0]["z"]).T, want, atol=1e-6)
    assert "cpu" in at.sidebar.get("caption")[0].value


@pytest.mark.parametrize(("kind", "gates"), [("GRU", ["reset", "keep", "candidate", "hidden"]),
                                             ("RNN", ["pre-activation", "hidden"])])
def test_switching_cell(at, kind, gates):
    at.radio(key="home_cell").set_value(kind).run()
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert [t.split()[0] for t in titles] == [g.split()[0] for g in gates]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the sequence is empty; type at least one number"),
    ("1, x, 3", "step 1: 'x' is not a number"),
    ("1, nan", "step 1: nan is not allowed; numbers must be finite (no NaN or inf)"),
    (" ".join(["1"] * 1001), "the sequence has 1001 steps; the limit is 1000"),
])
def test_bad_input_keeps_the_text_and_says_why(at, text, message):
    at.text_input(key="home_seq").set_value(text).run()
    assert not at.exception
    assert at.error[0].value.startswith(message)
    assert at.text_input(key="home_seq").value == text
    assert not at.get("plotly_chart")


def test_short_sequence_gives_that_many_steps(at):
    at.text_input(key="home_seq").set_value("1 2 3").run()
    fig = figures(at)[0]
    assert fig["data"][0]["x"] == ["0: 1", "1: 2", "2: 3"]
