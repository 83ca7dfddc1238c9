"""Tasks: shapes, labels correct by construction, determinism, text encoding."""

import random

import pytest
import torch

from lstmviz.models import SequenceModel
from lstmviz.sentiment import UNK, generate_sentence, sentiment_label
from lstmviz.tasks import MAX_DEPTH, TASKS, bracket_depths, get_task, stdlib_corpus

SHAPES = {  # name: (x shape, x dtype, y shape) for batch(4, T=12)
    "char_lm": ((4, 12), torch.long, (4, 12)),
    "adding": ((4, 12, 2), torch.float32, (4, 1)),
    "brackets": ((4, 12), torch.long, (4, 12)),
    "forecast_synthetic": ((4, 12, 1), torch.float32, (4, 12, 1)),
    "forecast_lifeexp": ((4, 10, 1), torch.float32, (4, 10, 1)),
}


@pytest.mark.parametrize("name", SHAPES)
def test_shapes(name):
    x_shape, x_dtype, y_shape = SHAPES[name]
    x, y = get_task(name).batch(4, 0, T=x_shape[1])
    assert (tuple(x.shape), x.dtype, tuple(y.shape)) == (x_shape, x_dtype, y_shape)


def test_sentiment_shapes_share_one_length():
    x, y = get_task("sentiment").batch(8, 0)
    assert x.dtype == torch.long and x.dim() == 2 and y.shape == (8,)
    assert set(y.tolist()) <= {0, 1}
    for T in (4, 9, 14):
        assert get_task("sentiment").batch(3, 0, T=T)[0].shape == (3, T)
    with pytest.raises(ValueError, match="4..14 words"):
        get_task("sentiment").batch(3, 0, T=15)


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_batch(name):
    task = get_task(name)
    x1, y1 = task.batch(6, 7)
    x2, y2 = task.batch(6, 7)
    x3, _ = task.batch(6, 8)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3) or x1.shape != x3.shape


@pytest.mark.parametrize("name", TASKS)
def test_model_fits_task_and_metric_is_a_number(name):
    task = get_task(name)
    x, y = task.batch(3, 0)
    pred = SequenceModel(task.model_config("gru", 8))(x)
    assert task.loss(pred, y).dim() == 0
    assert isinstance(task.metric(pred, y), float)


@pytest.mark.parametrize("name", TASKS)
def test_examples_encode(name):
    task = get_task(name)
    assert 2 <= len(task.examples) <= 4
    for text in task.examples.values():
        x, unknown = task.encode_text(text)
        assert len(x) == len(task.tokenize(text)) and unknown == []


@pytest.mark.parametrize(("text", "label"), [
    ("the movie was not bad", 1),
    ("the plot was never boring", 1),
    ("the film was good", 1),
    ("the film was good but boring", 0),
    ("the film was boring but good", 1),
    ("the film was good but not boring", 1),
    ("the acting was great but the plot was dull", 0),
    ("although the plot was dull , the ending was great", 1),
    ("the ending was great although the plot was dull", 1),
    ("although the cast was very good , the movie was not fun", 0),
    ("the acting was not only clever but also moving", 1),
    ("the script is not only weak but also really predictable", 0),
])
def test_sentiment_rule_on_hand_written_sentences(text, label):
    assert sentiment_label(text.split()) == label


def test_generated_sentiment_labels_follow_the_rule():
    rng = random.Random(0)
    sentences = [generate_sentence(rng) for _ in range(2000)]
    assert all(s.label == sentiment_label(s.words) for s in sentences)
    assert all(s.negated == any(w in ("not", "never") and "only" not in s.words for w in s.words)
               for s in sentences)
    assert 0.4 < sum(s.label for s in sentences) / len(sentences) < 0.6
    assert 0.3 < sum(s.negated for s in sentences) / len(sentences) < 0.7


def test_word_order_decides_sentiment():
    """Swapping the clauses around "but" flips the label: the same words, the other answer."""
    rng = random.Random(1)
    sentences = [generate_sentence(rng) for _ in range(500)]
    two_clauses = [s for s in sentences if "but" in s.words and "only" not in s.words
                   and s.words[s.words.index("but") + 1] == "the"]
    assert len(two_clauses) > 50
    for s in two_clauses:
        cut = s.words.index("but")
        assert sentiment_label(s.words[cut + 1 :] + ("but",) + s.words[:cut]) != s.label


def test_sentiment_tokens_are_in_vocab():
    task = get_task("sentiment")
    x, unknown = task.encode_text("The movie, honestly, was NOT bad")
    assert task.tokenize("The movie, honestly, was NOT bad")[3] == "honestly"
    assert unknown == [3] and task.vocab[0] == UNK and int(x[0]) != 0


def test_adding_target_recomputed():
    x, y = get_task("adding").batch(50, 3, T=30)
    markers = x[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :15].sum(1) == 1)  # one marker in each half
    assert torch.allclose((x[..., 0] * markers).sum(1, keepdim=True), y)
    assert x[..., 0].min() >= 0 and x[..., 0].max() <= 1


def test_adding_text_format():
    x, _ = get_task("adding").encode_text("0.5:0, 0.25:1\n0.75:1 1")
    assert x.tolist() == [[0.5, 0.0], [0.25, 1.0], [0.75, 1.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match="step 1"):
        get_task("adding").encode_text("0.5:0, abc:1")


def test_adding_curriculum_reaches_evaluation_length():
    task = get_task("adding")
    assert task.train_length(0.0) == 20 and task.train_length(0.6) == task.train_length(1.0) == 100


def test_bracket_depth_recomputed_and_balanced():
    task = get_task("brackets")
    x, y = task.batch(40, 5, T=50)
    for ids, depths in zip(x.tolist(), y.tolist(), strict=True):
        text = "".join(task.vocab[i] for i in ids)
        assert bracket_depths(text) == depths
        assert depths[-1] == 0 and min(depths) >= 0 and max(depths) <= MAX_DEPTH
    assert y.max() >= 5  # deep nesting does occur


def test_char_corpus_split_and_vocab():
    corpus = stdlib_corpus()
    assert len(corpus["train"]) > 1_000_000 and len(corpus["test"]) > 100_000
    task = get_task("char_lm")
    x, unknown = task.encode_text("def f():\n\treturn 1")
    assert unknown == [9] and task.vocab[int(x[8])] == "\n"
    x, y = task.batch(2, 0, T=20, split="test")
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_forecast_targets_are_the_next_value_and_naive_baseline():
    task = get_task("forecast_synthetic")
    x, y = task.batch(5, 0, T=40)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert task.naive_mse(x, y) == pytest.approx(float(((x - y) ** 2).mean()))


def test_life_expectancy_split_and_units():
    task = get_task("forecast_lifeexp")
    train, test = task.series("train"), task.series("test")
    assert train.shape[1] == test.shape[1] == 12 and len(train) + len(test) == 142
    japan, _ = task.encode_text(task.examples["Japan"])
    assert task.unscale(japan)[0, 0] == pytest.approx(63.03)


def test_unknown_task_names_the_choices():
    with pytest.raises(ValueError, match="char_lm"):
        get_task("nope")
