"""Generated sentences with negation and contrast, labelled by construction, and an independent
labelling rule that re-derives each label from the words alone (the tests check the two agree).

Templates: "the plot was not bad" · "the plot was dull but the cast was great" · "the film was good
but boring" · "although A , B" / "B although A" · "the film was not only good but also clever".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

UNK = "<unk>"  # index 0 of every token vocabulary: whatever the vocabulary lacks maps here

POSITIVE = ("good", "great", "excellent", "fun", "brilliant", "charming", "clever", "moving")
NEGATIVE = ("bad", "boring", "awful", "dull", "terrible", "weak", "predictable", "bland")
POLARITY = {w: 1 for w in POSITIVE} | {w: -1 for w in NEGATIVE}
SUBJECTS = ("movie", "film", "plot", "acting", "script", "ending", "cast", "music")
NEGATORS = ("not", "never")
INTENSIFIERS = ("very", "really", "quite")
SENTENCE_LENGTHS = range(4, 15)  # words in a generated sentence
SENTIMENT_VOCAB = [UNK, ","] + sorted(
    {*POLARITY, *SUBJECTS, *NEGATORS, *INTENSIFIERS, "the", "is", "was", "but", "although", "only", "also"}
)


@dataclass(frozen=True)
class Sentence:
    """A generated sentence: its words, label (1 positive, 0 negative), and whether a negation
    ("not"/"never", never the "not" of "not only") flips an adjective in it."""

    words: tuple[str, ...]
    label: int
    negated: bool


def _phrase(rng: random.Random, polarity: int, negate: bool) -> list[str]:
    """Words with the given overall polarity, e.g. (+1, negate=True) → "not very bad"."""
    words = [rng.choice(POSITIVE if polarity * (-1 if negate else 1) > 0 else NEGATIVE)]
    if rng.random() < 0.3:
        words.insert(0, rng.choice(INTENSIFIERS))
    return [rng.choice(NEGATORS)] + words if negate else words


def _clause(rng: random.Random, polarity: int, negate: bool) -> list[str]:
    return ["the", rng.choice(SUBJECTS), rng.choice(("is", "was"))] + _phrase(rng, polarity, negate)


def generate_sentence(rng: random.Random) -> Sentence:
    """One sentence from five templates; the label follows from how it was built.

    plain "the plot was not bad" · contrast "the plot was dull but the cast was great" (the part after
    "but" decides) · short contrast "the film was good but boring" · "although A , B" / "B although A"
    (B decides) · "the film was not only good but also clever" (both agree; nothing is negated).
    """
    form, polarity = rng.randrange(5), rng.choice((1, -1))
    n1, n2 = rng.random() < 0.4, rng.random() < 0.4
    if form == 0:
        return Sentence(tuple(_clause(rng, polarity, n1)), int(polarity > 0), n1)
    if form == 1:
        words = _clause(rng, -polarity, n1) + ["but"] + _clause(rng, polarity, n2)
    elif form == 2:
        words = _clause(rng, -polarity, n1) + ["but"] + _phrase(rng, polarity, n2)
    elif form == 3:
        main, other = _clause(rng, polarity, n1), _clause(rng, -polarity, n2)
        words = ["although"] + other + [","] + main if rng.random() < 0.5 else main + ["although"] + other
    else:
        words = _clause(rng, polarity, False)[:3] + ["not", "only"] + _phrase(rng, polarity, False)
        words += ["but", "also"] + _phrase(rng, polarity, False)
        n1 = n2 = False
    return Sentence(tuple(words), int(polarity > 0), n1 or n2)


def sentiment_label(words: list[str] | tuple[str, ...]) -> int:
    """The labelling rule, re-derived from the words alone (1 positive, 0 negative).

    The deciding part is: after "also" in "not only … but also …"; the clause without "although";
    else the words after the last "but"; else the whole sentence. Its last adjective's polarity,
    flipped when the part holds "not" or "never".
    """
    words = list(words)
    if "only" in words:
        span = words[words.index("also") + 1 :]
    elif "although" in words:
        at = words.index("although")
        span = words[words.index(",") + 1 :] if at == 0 else words[:at]
    elif "but" in words:
        span = words[len(words) - words[::-1].index("but") :]
    else:
        span = words
    polarity = [POLARITY[w] for w in span if w in POLARITY][-1]
    return int(polarity * (-1 if any(w in NEGATORS for w in span) else 1) > 0)
