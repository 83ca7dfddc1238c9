"""Vocabulary files: one token per line, checked against the model they are meant for.

A line holds one token exactly as written (spaces are kept); only the line ending is removed. Three
lines stand for characters a line cannot hold: `\\n` (new line), `\\t` (tab) and `\\r` (carriage return).
Empty lines and repeated tokens are refused, so that token i is always line i + 1.

The size must fit the model: an lstmviz token model needs one token per embedding row
(`vocab_size`); a bare nn.LSTM / GRU / RNN reads one-hot vectors, so it needs `input_size` tokens.
"""

from __future__ import annotations

from lstmviz.checkpoints import Loaded

MAX_VOCAB_BYTES = 2 * 1024 * 1024  # the largest vocabulary file we read
ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r"}


class VocabError(ValueError):
    """A vocabulary file we cannot use; the message says what is wrong and where."""


def parse_vocab(data: bytes) -> list[str]:
    """The tokens of a vocabulary file (UTF-8, one token per line), in file order."""
    if len(data) > MAX_VOCAB_BYTES:
        raise VocabError(f"the vocabulary file is {len(data) / 2**20:.1f} MB; the limit is "
                         f"{MAX_VOCAB_BYTES // 2**20} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise VocabError(f"the vocabulary file is not UTF-8 text (byte {err.start} cannot be decoded)") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the new line that ends the last token
    if not lines:
        raise VocabError("the vocabulary file is empty; write one token per line")
    tokens, seen = [], {}
    for number, line in enumerate(lines, start=1):
        token = line.removesuffix("\r")
        if token == "":
            raise VocabError(f"line {number} of the vocabulary file is empty; write one token per line "
                             "(\\n stands for a new line)")
        token = ESCAPES.get(token, token)
        if token in seen:
            raise VocabError(f"the token {token!r} appears twice in the vocabulary, on lines {seen[token]} "
                             f"and {number}")
        seen[token] = number
        tokens.append(token)
    return tokens


def check_vocab_fits(vocab: list[str], loaded: Loaded) -> None:
    """VocabError unless `vocab` has exactly as many tokens as the model reads; names both numbers."""
    n = len(vocab)
    config = getattr(loaded.model, "config", None)
    if config is not None:
        if config.input_kind != "tokens":
            raise VocabError(f"this model reads numbers ({config.input_size} per step), not tokens; "
                             "it takes no vocabulary")
        if n != config.vocab_size:
            raise VocabError(f"the vocabulary has {n} tokens but the model's embedding has {config.vocab_size} "
                             f"rows (vocab_size {config.vocab_size}); they must be equal")
        return
    kind, size = loaded.spec.kind.upper(), loaded.spec.input_size
    if n != size:
        raise VocabError(f"the vocabulary has {n} tokens but the {kind}'s input size is {size}; a bare "
                         f"module reads one-hot vectors, so the vocabulary needs exactly {size} tokens")
