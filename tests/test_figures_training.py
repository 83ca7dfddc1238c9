"""Training curves: loss and metric panels against steps, per-step lines thinned, epoch means as markers."""

import pytest

from lstmviz.figures.training import MAX_POINTS, training_curves


def test_two_panels_with_step_lines_and_epoch_markers():
    fig = training_curves("LSTM", [1, 2, 3, 4], [2.0, 1.5, 1.2, 1.0], [0.1, 0.2, 0.4, 0.5], "accuracy",
                          [2, 4], [1.75, 1.1], [0.15, 0.45])
    loss_line, loss_epochs, metric_line, metric_epochs = fig.data
    assert list(loss_line.x) == [1, 2, 3, 4] and list(loss_line.y) == [2.0, 1.5, 1.2, 1.0]
    assert (loss_line.mode, loss_epochs.mode) == ("lines", "markers")
    assert list(loss_epochs.x) == [2, 4] and list(loss_epochs.y) == [1.75, 1.1]
    assert list(metric_line.y) == [0.1, 0.2, 0.4, 0.5] and list(metric_epochs.y) == [0.15, 0.45]
    assert (loss_line.xaxis, metric_line.xaxis) == ("x", "x2")
    assert fig.layout.title.text == "LSTM"
    assert (fig.layout.yaxis.title.text, fig.layout.yaxis2.title.text) == ("loss", "accuracy")
    assert fig.layout.xaxis.title.text == fig.layout.xaxis2.title.text == "step"


def test_long_runs_are_thinned_but_keep_the_last_step():
    n = 10 * MAX_POINTS + 7
    steps = list(range(1, n + 1))
    fig = training_curves("GRU", steps, [1.0] * n, [0.0] * n, "MSE")
    x = list(fig.data[0].x)
    assert len(x) <= MAX_POINTS + 1
    assert x[0] == 1 and x[-1] == n


def test_no_steps_yet_draws_empty_panels():
    fig = training_curves("RNN", [], [], [], "bits per char")
    assert [len(trace.x) for trace in fig.data] == [0, 0, 0, 0]


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="differ in length: 2, 1, 2"):
        training_curves("x", [1, 2], [1.0], [0.1, 0.2], "accuracy")
