"""Six small tasks: data made in code or read from what ships with Python and the installed packages.

Every task draws a batch with `task.batch(n, seed, T=...) -> (x, y)`, deterministic for a given seed
(or torch.Generator), and scores predictions with `task.loss` and `task.metric`. Shapes:

| task               | x                    | y           | model output (pred) |
|--------------------|----------------------|-------------|---------------------|
| char_lm            | [B,T] char ids       | [B,T] ids   | [B,T,vocab] logits  |
| sentiment          | [B,T] word ids       | [B] 0/1     | [B,2] logits        |
| adding             | [B,T,2] value,marker | [B,1]       | [B,1]               |
| brackets           | [B,T] char ids       | [B,T] depth | [B,T,9] logits      |
| forecast_synthetic | [B,T,1]              | [B,T,1]     | [B,T,1] (next value)|
| forecast_lifeexp   | [B,T,1]              | [B,T,1]     | [B,T,1] (next value)|

Token vocabularies start with UNK = "<unk>" at index 0: any character or word outside the vocabulary
maps there, and `encode_text` reports where that happened.
"""

from __future__ import annotations

import math
import random
import sysconfig
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.nn import functional as F

from lstmviz.inputs import split_items, to_number
from lstmviz.models import ModelConfig
from lstmviz.sentiment import (
    SENTENCE_LENGTHS,
    SENTIMENT_VOCAB,
    UNK,
    Sentence,
    generate_sentence,
)

Source = int | torch.Generator | None


def _generator(seed: Source) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(0 if seed is None else seed)


def _python_rng(g: torch.Generator) -> random.Random:
    return random.Random(int(torch.randint(2**62, (1,), generator=g)))


@dataclass
class Task:
    """A task: what the data looks like, how a model for it is shaped, and how it is scored."""

    name: str
    description: str  # one sentence for the UI
    input_kind: str  # "tokens" | "numbers", as in ModelConfig
    head: str  # "next_token" | "classify" | "regress"
    output_size: int  # classes, vocabulary size, or 1 for a regression
    readout: str  # "per_step" | "final"
    metric_name: str  # what `metric` returns
    higher_is_better: bool
    T: int | None  # default sequence length (None: sentences of any generated length)
    text_format: str  # how a user types an input
    vocab: list[str] | None = None  # token tasks: vocab[0] is UNK
    input_size: int = 0  # numeric tasks: features per step
    examples: dict[str, str] = field(default_factory=dict)  # title → typed input

    def batch(self, n: int, seed: Source = None, *, T: int | None = None,
              split: str = "train") -> tuple[Tensor, Tensor]:
        """n examples (x, y), the same for the same seed; T defaults to `self.T`.

        split ("train" | "test") selects held-out files or series for tasks read from data;
        generated tasks draw fresh samples from the seed either way.
        """
        return self._batch(n, _generator(seed), T or self.T, split)

    def _batch(self, n: int, g: torch.Generator, T: int | None, split: str) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def train_length(self, progress: float) -> int | None:
        """Sequence length to train on when `progress` (0 → 1) of training is done."""
        return self.T

    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        """Mean squared error for regression, cross-entropy for the other heads (scalar)."""
        if self.head == "regress":
            return F.mse_loss(pred, y)
        return F.cross_entropy(pred.reshape(-1, pred.shape[-1]), y.reshape(-1))

    def metric(self, pred: Tensor, y: Tensor) -> float:
        """The task's headline number, named by `metric_name`."""
        with torch.no_grad():
            return float((pred.argmax(-1) == y).float().mean())  # accuracy

    def tokenize(self, text: str) -> list[str]:
        """The step labels of a typed input: characters for character tasks."""
        return list(text)

    def encode_text(self, text: str) -> tuple[Tensor, list[int]]:
        """Typed text → (ids [T] long, positions that are not in the vocabulary)."""
        index = {token: i for i, token in enumerate(self.vocab or [])}
        ids = [index.get(token, 0) for token in self.tokenize(text)]
        return torch.tensor(ids, dtype=torch.long), [t for t, i in enumerate(ids) if i == 0]

    def model_config(self, cell: str, hidden_size: int, *, embed_size: int = 32, **rnn) -> ModelConfig:
        """A `ModelConfig` whose input layer and head fit this task; rnn= num_layers, bidirectional, …"""
        tokens = self.input_kind == "tokens"
        return ModelConfig(
            cell=cell, input_kind=self.input_kind, vocab_size=len(self.vocab) if tokens else None,
            input_size=embed_size if tokens else self.input_size, hidden_size=hidden_size,
            head=self.head, output_size=self.output_size, readout=self.readout, **rnn,
        )


# --- (a) character language model on the Python standard library -------------------------------

CHAR_VOCAB = [UNK, "\n"] + [chr(c) for c in range(32, 127)]


@cache
def stdlib_corpus() -> dict[str, Tensor]:
    """Top-level `*.py` files of the running interpreter's stdlib, sorted by name, as char ids.

    Every 10th file (index 0, 10, 20, …) is the test split. Returns {"train": [N], "test": [M]}.
    """
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    table = np.zeros(128, dtype=np.int64)
    for i, ch in enumerate(CHAR_VOCAB[1:], start=1):
        table[ord(ch)] = i
    parts: dict[str, list[str]] = {"train": [], "test": []}
    for i, path in enumerate(files):
        parts["test" if i % 10 == 0 else "train"].append(path.read_text("utf-8", errors="replace"))
    corpus = {}
    for split, texts in parts.items():
        codes = np.frombuffer("\n".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        corpus[split] = torch.from_numpy(np.where(codes < 128, table[np.minimum(codes, 127)], 0))
    return corpus


class CharLMTask(Task):
    """Next character of stdlib source; windows of T characters, targets shifted by one."""

    def _batch(self, n, g, T, split):
        ids = stdlib_corpus()[split]  # [N]
        starts = torch.randint(len(ids) - T - 1, (n, 1), generator=g)  # [n,1]
        window = ids[starts + torch.arange(T + 1)]  # [n,T+1]
        return window[:, :-1], window[:, 1:]

    def metric(self, pred, y):
        """Bits per character: cross-entropy in base 2."""
        with torch.no_grad():
            return float(self.loss(pred, y)) / math.log(2)


# --- (b) sentiment with negation and contrast: sentences and labels in lstmviz.sentiment -------------

class SentimentTask(Task):
    """Positive or negative, read from the whole generated sentence (a final readout)."""

    def sample(self, n: int, seed: Source = None, T: int | None = None) -> list[Sentence]:
        """n generated sentences, all T words long (T=None: the first sentence's length)."""
        if T is not None and T not in SENTENCE_LENGTHS:
            raise ValueError(f"generated sentences have {SENTENCE_LENGTHS.start}..{SENTENCE_LENGTHS.stop - 1} "
                             f"words, not {T}")
        rng = _python_rng(_generator(seed))
        out: list[Sentence] = []
        while len(out) < n:
            sentence = generate_sentence(rng)
            T = T or len(sentence.words)
            if len(sentence.words) == T:
                out.append(sentence)
        return out

    def _batch(self, n, g, T, split):
        index = {w: i for i, w in enumerate(self.vocab)}
        sentences = self.sample(n, g, T)
        x = torch.tensor([[index[w] for w in s.words] for s in sentences])  # [n,T]
        return x, torch.tensor([s.label for s in sentences])  # [n]

    def tokenize(self, text):
        """Lower-cased words; a comma is a word of its own."""
        return text.lower().replace(",", " , ").split()


# --- (c) the adding problem ----------------------------------------------------------------------


class AddingTask(Task):
    """Per step (value in [0, 1], marker in {0, 1}); one marker in each half; target the marked sum."""

    def _batch(self, n, g, T, split):
        values = torch.rand(n, T, generator=g)  # [n,T]
        first = torch.randint(T // 2, (n,), generator=g)  # one marker in each half
        second = torch.randint(T // 2, T, (n,), generator=g)
        markers = torch.zeros(n, T)
        rows = torch.arange(n)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        y = (values[rows, first] + values[rows, second]).unsqueeze(1)  # [n,1]
        return torch.stack([values, markers], dim=-1), y  # [n,T,2], [n,1]

    def train_length(self, progress):
        """A curriculum: T grows from 20 to `self.T` over the first 60% of training."""
        return round(20 + (self.T - 20) * min(1.0, progress / 0.6))

    def metric(self, pred, y):
        """Fraction of sequences whose sum is predicted within 0.04."""
        return float(((pred - y).abs() < 0.04).float().mean())

    def tokenize(self, text):
        return split_items(text)

    def encode_text(self, text):
        """'value:marker' items → values [T,2]; a bare value has marker 0."""
        steps = []
        for t, item in enumerate(self.tokenize(text)):
            value, _, marker = item.partition(":")
            steps.append([to_number(value, f"step {t}"), to_number(marker or "0", f"step {t}")])
        return torch.tensor(steps, dtype=torch.float32).reshape(-1, 2), []


# --- (d) bracket depth ---------------------------------------------------------------------------

MAX_DEPTH = 8


class BracketTask(Task):
    """Random balanced strings of "(", ")" and filler "x" (depth ≤ MAX_DEPTH); target the depth."""

    def _batch(self, n, g, T, split):
        u = np.random.default_rng(int(torch.randint(2**62, (1,), generator=g))).random((n, T))  # [n,T]
        depth = np.zeros(n, dtype=np.int64)
        x, y = np.empty((n, T), dtype=np.int64), np.empty((n, T), dtype=np.int64)
        weights = np.array([0.4, 0.35, 0.25])  # open, close, filler
        for t in range(T):
            left = T - t - 1  # steps after this one: enough must remain to close every bracket
            allowed = np.stack([(depth < MAX_DEPTH) & (depth + 1 <= left), depth > 0, depth <= left], 1)
            p = weights * allowed  # [n,3]
            cum = (p / p.sum(1, keepdims=True)).cumsum(1)
            choice = np.minimum((u[:, t : t + 1] > cum).sum(1), 2)  # 0 open, 1 close, 2 filler
            depth = depth + (choice == 0) - (choice == 1)
            x[:, t], y[:, t] = choice + 1, depth  # vocab ids of "(", ")", "x"
        return torch.from_numpy(x), torch.from_numpy(y)


def bracket_depths(text: str) -> list[int]:
    """The depth after each character of `text`: +1 at "(", -1 at ")", unchanged elsewhere."""
    depths, depth = [], 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        depths.append(depth)
    return depths


# --- (e) forecasting the next value --------------------------------------------------------------


class ForecastTask(Task):
    """Next-value regression; the model sees values scaled as (value - offset) / scale."""

    offset: float = 0.0
    scale: float = 1.0

    def metric(self, pred, y):
        """Mean squared error of the next-value forecast (in scaled units)."""
        return float(F.mse_loss(pred.detach(), y))

    @staticmethod
    def naive_mse(x: Tensor, y: Tensor) -> float:
        """MSE of the naive forecast 'the next value equals the last one' (x [B,T,1], y [B,T,1])."""
        return float(F.mse_loss(x, y))

    def tokenize(self, text):
        return split_items(text)

    def encode_text(self, text):
        """Comma- or space-separated numbers in the series' own units → scaled values [T,1]."""
        items = enumerate(self.tokenize(text))
        values = [(to_number(item, f"step {t}") - self.offset) / self.scale for t, item in items]
        return torch.tensor(values, dtype=torch.float32).reshape(-1, 1), []

    def unscale(self, values: Tensor) -> Tensor:
        """Scaled values (inputs or predictions) → the series' own units."""
        return values * self.scale + self.offset


def two_seasons(T: int, rng: np.random.Generator, noise: float = 0.1) -> np.ndarray:
    """A period-12 and a period-50 wave with random phases and amplitudes, plus Gaussian noise [T]."""
    t = np.arange(T)
    a1, a2 = rng.uniform(0.6, 1.0), rng.uniform(0.3, 0.6)
    p1, p2 = rng.uniform(0, 2 * np.pi, size=2)
    waves = a1 * np.sin(2 * np.pi * t / 12 + p1) + a2 * np.sin(2 * np.pi * t / 50 + p2)
    return waves + noise * rng.normal(size=T)


class SyntheticForecastTask(ForecastTask):
    """Windows of `two_seasons`, a fresh series for every example."""

    def _batch(self, n, g, T, split):
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=g)))
        data = torch.tensor(np.stack([two_seasons(T + 1, rng) for _ in range(n)]), dtype=torch.float32)
        return data[:, :-1, None], data[:, 1:, None]  # [n,T,1] each


@cache
def gapminder_life_expectancy() -> pd.DataFrame:
    """Life expectancy (years) of 142 countries every 5 years 1952–2007: Gapminder data that ships with
    plotly (plotly/package_data/datasets/gapminder.csv.gz). Rows: countries sorted by name; columns: years."""
    path = resources.files("plotly") / "package_data" / "datasets" / "gapminder.csv.gz"
    with resources.as_file(path) as csv:
        data = pd.read_csv(csv)
    return data.pivot(index="country", columns="year", values="lifeExp").sort_index()


class LifeExpectancyTask(ForecastTask):
    """Windows of one country's life expectancy; every 5th country (by name) is the test split."""

    offset, scale = 60.0, 10.0

    def series(self, split: str) -> Tensor:
        """The scaled series of the split's countries, [countries, 12]."""
        values = torch.tensor(gapminder_life_expectancy().to_numpy(), dtype=torch.float32)  # [142,12]
        test = torch.arange(len(values)) % 5 == 0  # every 5th country is held out
        return (values[test if split == "test" else ~test] - self.offset) / self.scale

    def _batch(self, n, g, T, split):
        data = self.series(split)  # [S,12]
        rows = torch.randint(len(data), (n, 1), generator=g)
        starts = torch.randint(data.shape[1] - T, (n, 1), generator=g)
        window = data[rows, starts + torch.arange(T + 1)]  # [n,T+1]
        return window[:, :-1, None], window[:, 1:, None]  # [n,T,1] each


# --- the registry --------------------------------------------------------------------------------


def _adding_text(T: int, marks: tuple[int, int], seed: int) -> str:
    values = np.random.default_rng(seed).uniform(size=T)
    return ", ".join(f"{v:.2f}:{int(t in marks)}" for t, v in enumerate(values))


def _wave_text(seed: int, noise: float) -> str:
    return ", ".join(f"{v:.2f}" for v in two_seasons(100, np.random.default_rng(seed), noise))


TOKEN_FORMAT = "Type text; characters outside the vocabulary become <unk> and are flagged."
NUMBER_FORMAT = "Numbers separated by commas, spaces or new lines, one per step."

TASKS: dict[str, Task] = {
    task.name: task
    for task in [
        CharLMTask(
            name="char_lm", description="Predict the next character of Python standard-library source code.",
            input_kind="tokens", head="next_token", output_size=len(CHAR_VOCAB), readout="per_step",
            metric_name="bits per char", higher_is_better=False, T=100, text_format=TOKEN_FORMAT,
            vocab=CHAR_VOCAB,
            examples={
                "quotes": 'name = "hello, world"\nprint(name, \'done\')\n',
                "nested brackets": "total = sum(f(x[i], (y + 2) * 3) for i in range(n))\n",
                "indentation": "def sign(x):\n    if x < 0:\n        return -1\n    return 1\n",
                "comment": "# count the lines\nn = 0  # none yet\n",
            },
        ),
        SentimentTask(
            name="sentiment",
            description="Is a short review positive? Negation and contrast decide, so word order matters.",
            input_kind="tokens", head="classify", output_size=2, readout="final",
            metric_name="accuracy", higher_is_better=True, T=None,
            text_format="Type a sentence in the reviews' words; unknown words become <unk>.",
            vocab=SENTIMENT_VOCAB,
            examples={
                "negation": "the movie was not bad",
                "contrast": "the film was good but boring",
                "reversed contrast": "the film was boring but good",
                "not only": "the acting was not only clever but also moving",
            },
        ),
        AddingTask(
            name="adding",
            description="Sum the two marked values of a long sequence (Hochreiter & Schmidhuber 1997).",
            input_kind="numbers", head="regress", output_size=1, readout="final",
            metric_name="fraction within 0.04", higher_is_better=True, T=100, input_size=2,
            text_format="value:marker pairs separated by commas, e.g. 0.31:0, 0.72:1; two markers are 1.",
            examples={
                "markers far apart": _adding_text(20, (1, 17), 1),
                "markers side by side": _adding_text(20, (9, 10), 2),
                "T=100": _adding_text(100, (3, 96), 3),
            },
        ),
        BracketTask(
            name="brackets", description="Track how deeply nested each character of a bracket string is.",
            input_kind="tokens", head="classify", output_size=MAX_DEPTH + 1, readout="per_step",
            metric_name="accuracy", higher_is_better=True, T=60, vocab=[UNK, "(", ")", "x"],
            text_format='Type "(", ")" and "x" (filler); other characters become <unk>.',
            examples={"nested": "(x(x)(x(x(x))))x", "deep then flat": "((((((x))))))()()", "flat": "()x()x()x()"},
        ),
        SyntheticForecastTask(
            name="forecast_synthetic",
            description="Forecast the next value of a period-12 plus period-50 wave with noise.",
            input_kind="numbers", head="regress", output_size=1, readout="per_step",
            metric_name="MSE", higher_is_better=False, T=100, input_size=1, text_format=NUMBER_FORMAT,
            examples={"noisy": _wave_text(1, 0.1), "clean": _wave_text(2, 0.0)},
        ),
        LifeExpectancyTask(
            name="forecast_lifeexp",
            description="Forecast a country's life expectancy 5 years ahead (Gapminder, 1952–2007).",
            input_kind="numbers", head="regress", output_size=1, readout="per_step",
            metric_name="MSE", higher_is_better=False, T=11, input_size=1,
            text_format=NUMBER_FORMAT + " Values in years, one every 5 years.",
            examples={
                "Japan": "63.03, 65.5, 68.73, 71.43, 73.42, 75.38, 77.11, 78.67, 79.36, 80.69, 82, 82.603",
                "Cambodia": "39.417, 41.366, 43.415, 45.415, 40.317, 31.22, 50.957, 53.914, 55.803, 56.534, "
                "56.752, 59.723",
                "Rwanda": "40, 41.5, 43, 44.1, 44.6, 45, 46.218, 44.02, 23.599, 36.087, 43.413, 46.242",
            },
        ),
    ]
}


def get_task(name: str) -> Task:
    """The task called `name`; ValueError listing the known names otherwise."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]
