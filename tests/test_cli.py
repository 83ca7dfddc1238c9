"""The CLI contract: TRACE.csv layout, and bad input -> exit 2, one stderr line, no output file."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_module

from lstmviz import trace
from lstmviz.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def files(tmp_path):
    module = make_module("lstm", 2, 3, layers=2, bidirectional=True)
    torch.save(module.state_dict(), tmp_path / "m.pt")
    (tmp_path / "seq.csv").write_text("x1,x2\n1,2\n3,4\n0.5,-0.25\n")
    return tmp_path, module


def test_trace_csv_matches_trace(files):
    tmp, module = files
    assert main(["trace", "--checkpoint", str(tmp / "m.pt"), "--input", str(tmp / "seq.csv"),
                 "--out", str(tmp / "t.csv")]) == 0
    assert (tmp / "t.csv").read_text().splitlines()[0] == "step,layer,direction,gate,unit,value"
    df = pd.read_csv(tmp / "t.csv")
    tr = trace(module, torch.tensor([[1, 2], [3, 4], [0.5, -0.25]]))
    assert len(df) == sum(v.size for v in tr.values.values())
    assert set(df.direction) == {"fwd", "bwd"} and set(df.gate) == set("ifgoch")
    for name, arr in tr.values.items():
        layer, direction, gate = name.split(".")
        part = df[(df.layer == int(layer[5:])) & (df.direction == direction) & (df.gate == gate)]
        got = np.zeros_like(arr)
        got[part.step, part.unit] = part.value
        np.testing.assert_array_equal(got, arr)  # shortest round-trip text: exact float32


def test_rnn_nonlinearity_flag(tmp_path):
    module = make_module("rnn", 1, 2, nonlinearity="relu")
    torch.save(module.state_dict(), tmp_path / "r.pt")
    (tmp_path / "s.csv").write_text("1\n-2\n")
    assert main(["trace", "--checkpoint", str(tmp_path / "r.pt"), "--input", str(tmp_path / "s.csv"),
                 "--out", str(tmp_path / "o.csv"), "--nonlinearity", "relu"]) == 0
    h = pd.read_csv(tmp_path / "o.csv").query("gate == 'h'").value
    want = trace(module, torch.tensor([[1.0], [-2.0]])).values["layer0.fwd.h"]
    np.testing.assert_allclose(h.to_numpy(), want.ravel())


BAD = {
    "missing checkpoint": ({"checkpoint": "nope.pt"}, "lstmviz: error: {tmp}/nope.pt: no such file"),
    "not a state dict": ({"checkpoint": "list.pt"}, "lstmviz: error: not a state dict: expected a dict of "
                         "tensors like weight_ih_l0"),
    "unknown keys": ({"checkpoint": "unknown.pt"}, "lstmviz: error: unknown keys in the state dict: head.weight; "
                     "expected only torch.nn.LSTM/GRU/RNN keys such as weight_ih_l0, weight_hh_l0, bias_ih_l0, "
                     "bias_hh_l0"),
    "hostile pickle": ({"checkpoint": "evil.pt"}, "lstmviz: error: refused: the file holds Python objects or code, "
                       "not just tensors (loaded with weights_only=True; nothing in it was run)"),
    "wrong width": ({"input": "wide.csv"}, "lstmviz: error: wide.csv line 1 has 3 value(s); this model takes 2 "
                    "per step"),
    "non-numeric": ({"input": "word.csv"}, "lstmviz: error: word.csv line 3: 'abc' is not a number"),
    "nan": ({"input": "nan.csv"}, "lstmviz: error: nan.csv line 2: nan is not allowed; numbers must be finite "
            "(no NaN or inf)"),
    "inf": ({"input": "inf.csv"}, "lstmviz: error: inf.csv line 1: inf is not allowed; numbers must be finite "
            "(no NaN or inf)"),
    "empty": ({"input": "empty.csv"}, "lstmviz: error: empty.csv has no steps; give one line per step with 2 "
              "number(s)"),
    "missing input": ({"input": "none.csv"}, "lstmviz: error: {tmp}/none.csv: no such file"),
}


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_exit_2_one_line_no_output(files, case, capsys):
    tmp, _ = files
    torch.save([1, 2], tmp / "list.pt")
    torch.save({"head.weight": torch.zeros(1)}, tmp / "unknown.pt")
    torch.save({"weight_ih_l0": _Evil()}, tmp / "evil.pt")
    for name, text in {"wide.csv": "1,2,3\n", "word.csv": "1,2\n3,4\n5,abc\n", "nan.csv": "1,2\nnan,1\n",
                       "inf.csv": "inf,1\n", "empty.csv": "a,b\n"}.items():
        (tmp / name).write_text(text)
    given, expected = BAD[case]
    args = {"checkpoint": "m.pt", "input": "seq.csv"} | given
    out = tmp / "out.csv"
    code = main(["trace", "--checkpoint", str(tmp / args["checkpoint"]), "--input", str(tmp / args["input"]),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [expected.format(tmp=tmp)]
    assert not out.exists()
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".out")] == []


def test_usage_errors_are_one_line(capsys):
    assert main(["trace", "--checkpoint", "m.pt"]) == 2
    assert capsys.readouterr().err.strip() == ("lstmviz: error: the following arguments are required: --input, "
                                               "--out (see: python -m lstmviz trace --help)")


def test_python_dash_m_entry_point(files):
    tmp, _ = files
    (tmp / "nan.csv").write_text("1,2\nnan,1\n")
    result = subprocess.run([sys.executable, "-m", "lstmviz", "trace", "--checkpoint", str(tmp / "m.pt"),
                             "--input", str(tmp / "nan.csv"), "--out", str(tmp / "o.csv")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("lstmviz: error: nan.csv line 2: nan is not allowed; numbers must be finite "
                                     "(no NaN or inf)")
    assert not (tmp / "o.csv").exists()


def test_train_writes_a_checkpoint_that_traces(tmp_path, capsys):
    out = tmp_path / "adding.pt"
    assert main(["train", "--task", "adding", "--cell", "gru", "--hidden", "4", "--epochs", "2",
                 "--steps-per-epoch", "2", "--batch-size", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("epoch 1/2: loss ") and printed[1].startswith("epoch 2/2: loss ")
    from lstmviz.checkpoints import load_checkpoint

    loaded = load_checkpoint(out)
    assert loaded.task == "adding" and loaded.spec.kind == "gru" and loaded.spec.hidden_size == 4
    (tmp_path / "seq.csv").write_text("value,marker\n0.5,1\n0.25,0\n0.75,1\n")
    assert main(["trace", "--checkpoint", str(out), "--input", str(tmp_path / "seq.csv"),
                 "--out", str(tmp_path / "t.csv")]) == 0
    assert set(pd.read_csv(tmp_path / "t.csv").gate) == {"r", "z", "n", "h"}


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--task", "nope", "--cell", "lstm", "--out", "x.pt"],
     "lstmviz: error: unknown task 'nope'; choose one of: char_lm, sentiment, adding, brackets, "
     "forecast_synthetic, forecast_lifeexp"),
    (["train", "--task", "adding", "--cell", "lstm", "--hidden", "0", "--out", "x.pt"],
     "lstmviz: error: argument --hidden: must be a positive whole number, got 0 "
     "(see: python -m lstmviz train --help)"),
    (["train", "--task", "adding", "--cell", "cnn", "--out", "x.pt"],
     "lstmviz: error: argument --cell: invalid choice: 'cnn' (choose from 'lstm', 'gru', 'rnn') "
     "(see: python -m lstmviz train --help)"),
])
def test_train_bad_arguments(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "x.pt").exists()


def test_zoo_evaluate_on_an_empty_folder(tmp_path, capsys):
    assert main(["zoo", "evaluate", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"lstmviz: error: {tmp_path}: no checkpoints (*.pt) to evaluate"


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradflow_csv_matches_autograd(tmp_path, bidirectional):
    module = make_module("lstm", 2, 3, layers=2, bidirectional=bidirectional)
    torch.save(module.state_dict(), tmp_path / "m.pt")
    (tmp_path / "seq.csv").write_text("1,2\n3,4\n0.5,-0.25\n-1,0\n")
    assert main(["gradflow", "--checkpoint", str(tmp_path / "m.pt"), "--input", str(tmp_path / "seq.csv"),
                 "--out", str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").read_text().splitlines()[0] == "target_step,source_step,value"
    df = pd.read_csv(tmp_path / "g.csv")
    T = 4
    assert len(df) == (T * T if bidirectional else T * (T + 1) // 2)
    x = torch.tensor([[1, 2], [3, 4], [0.5, -0.25], [-1, 0]], requires_grad=True)
    out, _ = module(x)  # [T, D·H]
    for row in df.itertuples():
        (grad,) = torch.autograd.grad(out[row.target_step].sum(), x, retain_graph=True)
        assert row.value == pytest.approx(grad[row.source_step].norm().item(), rel=1e-4, abs=1e-7)


def test_gradflow_bad_input_is_one_line(files, capsys):
    tmp, _ = files
    (tmp / "bad.csv").write_text("1,2\n3,oops\n")
    assert main(["gradflow", "--checkpoint", str(tmp / "m.pt"), "--input", str(tmp / "bad.csv"),
                 "--out", str(tmp / "g.csv")]) == 2
    assert capsys.readouterr().err.strip() == "lstmviz: error: bad.csv line 2: 'oops' is not a number"
    assert not (tmp / "g.csv").exists()
