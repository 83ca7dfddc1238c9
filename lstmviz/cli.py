"""Command line: `python -m lstmviz trace|gradflow|train|zoo …`.

Bad input exits with status 2 and one line on stderr saying what is wrong; no traceback, and no
partly written output file is left behind (outputs are written to a temp file and renamed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lstmviz.checkpoints import CheckpointError, Loaded, atomic_write, load_checkpoint
from lstmviz.inputs import InputError, read_sequence_csv
from lstmviz.trace import Trace, trace

TRACE_HEADER = "step,layer,direction,gate,unit,value"


class UsageError(Exception):
    """Bad command-line usage; reported like bad input (one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for any bad input
        raise UsageError(f"{message} (see: python -m lstmviz {self.prog.split()[-1]} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="lstmviz", description="See inside LSTM, GRU and RNN models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in (("trace", "every gate and state at every step, as CSV"),
                            ("gradflow", "connectivity ‖∂y_t/∂x_s‖ for every t and s, as CSV")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--checkpoint", required=True, help="state_dict of nn.LSTM/GRU/RNN, or an lstmviz checkpoint")
        p.add_argument("--input", required=True, help="CSV: one step per line, input_size numbers, optional header")
        p.add_argument("--out", required=True, help="output CSV path")
        p.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh",
                       help="for a bare nn.RNN state_dict (its keys cannot tell tanh from relu)")
    p = sub.add_parser("train", help="train a model on a task and save an lstmviz checkpoint")
    p.add_argument("--task", required=True, help="one of: " + ", ".join(_task_names()))
    p.add_argument("--cell", required=True, choices=("lstm", "gru", "rnn"))
    p.add_argument("--hidden", type=_positive, default=64)
    p.add_argument("--layers", type=_positive, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--epochs", type=_positive, default=10)
    p.add_argument("--steps-per-epoch", type=_positive, default=100)
    p.add_argument("--batch-size", type=_positive, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="checkpoint path to write")
    zoo = sub.add_parser("zoo", help="rebuild or measure the shipped model zoo")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True, parser_class=_Parser)
    p = zoo_sub.add_parser("build", help="train every zoo model (slow: minutes) and write metrics.json")
    p.add_argument("--out", default=None, help="folder (default: the package's zoo folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=_positive, default=1)
    p = zoo_sub.add_parser("evaluate", help="measure every zoo model; print a Markdown table")
    p.add_argument("--dir", default=None, help="folder (default: the package's zoo folder)")
    return parser


def _task_names() -> list[str]:
    from lstmviz.tasks import TASKS

    return list(TASKS)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    except (UsageError, InputError, CheckpointError, ValueError) as err:
        print(f"lstmviz: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"lstmviz: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    return 0


def load_module_and_input(args: argparse.Namespace) -> tuple[Loaded, torch.Tensor]:
    """The checkpoint and the input sequence as the recurrent module takes it: [T, in]."""
    loaded = load_checkpoint(args.checkpoint, nonlinearity=args.nonlinearity)
    model = loaded.model
    if model is None:
        x = read_sequence_csv(args.input, loaded.spec.input_size)
        return loaded, torch.from_numpy(x)
    if model.config.input_kind == "tokens":
        ids = read_sequence_csv(args.input, 1)[:, 0]
        if not np.all((ids == np.round(ids)) & (ids >= 0) & (ids < model.config.vocab_size)):
            raise InputError(f"a token model takes one integer token id per line, 0..{model.config.vocab_size - 1}")
        raw = torch.from_numpy(ids.astype(np.int64))[None]  # [1, T]
    else:
        raw = torch.from_numpy(read_sequence_csv(args.input, model.config.input_size))[None]  # [1, T, in]
    with torch.no_grad():
        return loaded, model.encode(raw)[0]  # [T, E]


def run_trace(args: argparse.Namespace) -> None:
    """`trace`: write every value of the trace as tidy CSV."""
    loaded, x = load_module_and_input(args)
    write_trace_csv(args.out, trace(loaded.module, x))


def write_trace_csv(path: str | Path, tr: Trace) -> None:
    """TRACE.csv: header step,layer,direction,gate,unit,value; float32 values in shortest round-trip form."""
    def write(f) -> None:
        f.write((TRACE_HEADER + "\n").encode())
        for name, arr in tr.values.items():
            layer, direction, gate = name.split(".")
            units = [f",{layer[5:]},{direction},{gate},{u}," for u in range(arr.shape[1])]
            text = arr.astype(str)  # [T, units]
            for step in range(arr.shape[0]):
                f.write("".join(f"{step}{u}{v}\n" for u, v in zip(units, text[step], strict=True)).encode())
    atomic_write(path, write)


def run_gradflow(args: argparse.Namespace) -> None:
    """`gradflow`: write C[t, s] = ‖∂y_t/∂x_s‖ as target_step,source_step,value."""
    from lstmviz.gradients import connectivity, write_gradflow_csv

    loaded, x = load_module_and_input(args)
    write_gradflow_csv(args.out, connectivity(loaded.module, x), loaded.spec.bidirectional)


def run_train(args: argparse.Namespace) -> None:
    """`train`: train one model on a task, print progress per epoch, save an lstmviz checkpoint."""
    from lstmviz.checkpoints import save_checkpoint
    from lstmviz.models import SequenceModel, init_forget_bias
    from lstmviz.tasks import TASKS
    from lstmviz.train import train
    from lstmviz.zoo.build import describe, measure

    if args.task not in TASKS:
        raise UsageError(f"unknown task {args.task!r}; choose one of: {', '.join(TASKS)}")
    task = TASKS[args.task]
    torch.manual_seed(args.seed)
    model = SequenceModel(task.model_config(args.cell, args.hidden, num_layers=args.layers,
                                            bidirectional=args.bidirectional))
    init_forget_bias(model, 1.0)

    def progress(event) -> None:
        if event.kind == "epoch":
            print(f"epoch {event.epoch + 1}/{args.epochs}: loss {event.loss:.4f}, "
                  f"{task.metric_name} {event.metric:.4f} ({event.elapsed_s:.1f} s)", flush=True)

    result = train(model, task, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                   batch_size=args.batch_size, lr=args.lr, seed=args.seed, callback=progress)
    metrics = measure(model.cpu(), task)
    save_checkpoint(args.out, model, task=task.name, vocab=task.vocab, metrics=metrics, seed=args.seed,
                    extra={"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
                           "batch_size": args.batch_size, "lr": args.lr, "train_seconds": round(result.elapsed_s, 1)})
    print(f"{args.out}: {describe(task.name, metrics)}")


def run_zoo(args: argparse.Namespace) -> None:
    """`zoo build` retrains every shipped model; `zoo evaluate` prints their metrics as a Markdown table."""
    from lstmviz.zoo import ZOO_DIR
    from lstmviz.zoo.build import build, evaluate, markdown_table

    if args.zoo_command == "build":
        build(args.out or ZOO_DIR, seed=args.seed, threads=args.threads)
    else:
        folder = Path(args.dir) if args.dir else ZOO_DIR
        if not any(folder.glob("*.pt")):
            raise InputError(f"{folder}: no checkpoints (*.pt) to evaluate")
        print(markdown_table(evaluate(folder)))


COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "trace": run_trace, "gradflow": run_gradflow, "train": run_train, "zoo": run_zoo}
