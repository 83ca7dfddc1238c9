"""What users type: numbers parsed, and every bad input refused with a message that says why."""

import numpy as np
import pytest

from lstmviz.inputs import MAX_STEPS, InputError, parse_csv_text, parse_numbers, read_sequence_csv


def test_numbers_any_separator():
    np.testing.assert_array_equal(parse_numbers("1, 2 3\n4,-5.5"), [[1], [2], [3], [4], [-5.5]])
    assert parse_numbers("0.5").dtype == np.float32


def test_multi_feature_steps():
    np.testing.assert_array_equal(parse_numbers("1 2; 3,4\n5 6", input_size=2), [[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize(("text", "size", "message"), [
    ("", 1, "the sequence is empty; type at least one number"),
    ("   \n ", 1, "the sequence is empty; type at least one number"),
    ("1, two, 3", 1, "step 1: 'two' is not a number"),
    ("1, nan", 1, "step 1: nan is not allowed; numbers must be finite (no NaN or inf)"),
    ("1, -inf", 1, "step 1: -inf is not allowed; numbers must be finite (no NaN or inf)"),
    ("1 2\n3", 2, "step 1 has 1 value(s); this model takes 2 per step"),
])
def test_bad_numbers(text, size, message):
    with pytest.raises(InputError) as err:
        parse_numbers(text, size)
    assert str(err.value) == message


def test_length_limit_is_said():
    with pytest.raises(InputError) as err:
        parse_numbers(" ".join(["1"] * (MAX_STEPS + 1)))
    assert str(err.value) == f"the sequence has {MAX_STEPS + 1} steps; the limit is {MAX_STEPS}"
    assert parse_numbers("1 2 3", max_steps=None).shape == (3, 1)


def test_csv_with_and_without_header(tmp_path):
    np.testing.assert_array_equal(parse_csv_text("a,b\n1,2\n\n3,4\n", 2), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(parse_csv_text("1,2\n3,4", 2), [[1, 2], [3, 4]])
    with pytest.raises(InputError, match="seq.csv line 3: 'x' is not a number"):
        parse_csv_text("a,b\n1,2\n3,x\n", 2, name="seq.csv")
    with pytest.raises(InputError, match="has no steps"):
        parse_csv_text("a,b\n", 2)
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not a text file"):
        read_sequence_csv(path, 1)
    with pytest.raises(InputError, match="no such file"):
        read_sequence_csv(tmp_path / "missing.csv", 1)
