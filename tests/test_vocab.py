"""Vocabulary files: one token per line, refused with a message that says where and why."""

import pytest
import torch

from lstmviz.checkpoints import Loaded, RecurrentSpec
from lstmviz.models import ModelConfig, SequenceModel
from lstmviz.vocab import MAX_VOCAB_BYTES, VocabError, check_vocab_fits, parse_vocab


def test_one_token_per_line_in_file_order():
    assert parse_vocab(b"<unk>\nthe\nmovie\n") == ["<unk>", "the", "movie"]


def test_last_line_needs_no_newline_and_crlf_and_bom_are_removed():
    assert parse_vocab(b"a\nb") == ["a", "b"]
    assert parse_vocab(b"\xef\xbb\xbfa\r\nb\r\n") == ["a", "b"]


def test_spaces_are_tokens_and_escapes_stand_for_unwritable_characters():
    assert parse_vocab(b" \n\\n\n\\t\n\\r\nx y\n") == [" ", "\n", "\t", "\r", "x y"]


def test_unicode_tokens():
    assert parse_vocab("é\n日本\n".encode()) == ["é", "日本"]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the vocabulary file is empty; write one token per line"),
    (b"\n", "line 1 of the vocabulary file is empty; write one token per line (\\n stands for a new line)"),
    (b"a\n\nb\n", "line 2 of the vocabulary file is empty; write one token per line (\\n stands for a new line)"),
    (b"a\nb\na\n", "the token 'a' appears twice in the vocabulary, on lines 1 and 3"),
    (b"\\n\nb\n\\n", "the token '\\n' appears twice in the vocabulary, on lines 1 and 3"),
    (b"ok\n\xff\xfe\n", "the vocabulary file is not UTF-8 text (byte 3 cannot be decoded)"),
    (b"a\n" * (MAX_VOCAB_BYTES // 2 + 1), "the vocabulary file is 2.0 MB; the limit is 2 MB"),
])
def test_bad_files_say_what_and_where(data, message):
    with pytest.raises(VocabError) as err:
        parse_vocab(data)
    assert str(err.value) == message


def _token_model(vocab_size: int) -> Loaded:
    model = SequenceModel(ModelConfig("lstm", "tokens", vocab_size, 8, 4, head="classify", output_size=2))
    return Loaded(module=model.rnn, spec=RecurrentSpec("lstm", 8, 4), model=model)


def test_token_model_needs_one_token_per_embedding_row():
    check_vocab_fits(["a", "b", "c"], _token_model(3))
    with pytest.raises(VocabError) as err:
        check_vocab_fits(["a", "b"], _token_model(3))
    assert str(err.value) == "the vocabulary has 2 tokens but the model's embedding has 3 rows (vocab_size 3); " \
                             "they must be equal"


def test_number_model_takes_no_vocabulary():
    model = SequenceModel(ModelConfig("gru", "numbers", None, 2, 4))
    loaded = Loaded(module=model.rnn, spec=RecurrentSpec("gru", 2, 4), model=model)
    with pytest.raises(VocabError) as err:
        check_vocab_fits(["a", "b"], loaded)
    assert str(err.value) == "this model reads numbers (2 per step), not tokens; it takes no vocabulary"


def test_bare_module_needs_input_size_tokens_for_one_hot():
    module = torch.nn.RNN(5, 3)
    loaded = Loaded(module=module, spec=RecurrentSpec("rnn", 5, 3))
    check_vocab_fits(list("abcde"), loaded)
    with pytest.raises(VocabError) as err:
        check_vocab_fits(list("abcdef"), loaded)
    assert str(err.value) == ("the vocabulary has 6 tokens but the RNN's input size is 5; a bare module reads "
                              "one-hot vectors, so the vocabulary needs exactly 5 tokens")
