"""Parse and validate what users type or upload; every failure is an InputError saying what and why.

Numbers: one step per line, or, for one number per step, numbers separated by commas, spaces
or new lines. A CSV file: one step per line, `input_size` comma-separated numbers, an optional
header line. NaN and infinity are refused, as is anything past the step limit.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

MAX_STEPS = 1000  # longest sequence for the step-by-step views and the CLI
MAX_FILE_BYTES = 5 * 1024 * 1024  # largest sequence file (CSV upload or CLI input)
_SPLIT = re.compile(r"[,\s;]+")


class InputError(ValueError):
    """Input we cannot use; the message names the problem, where it is and what is allowed."""


def split_items(text: str) -> list[str]:
    """Typed input split on commas, semicolons, spaces and new lines into its non-empty items."""
    return [item for item in _SPLIT.split((text or "").strip()) if item]


def to_number(cell: str, place: str) -> float:
    """float(cell), or an InputError "{place}: 'x' is not a number" (NaN and inf parse; callers refuse them)."""
    try:
        return float(cell)
    except ValueError:
        raise InputError(f"{place}: {cell[:30]!r} is not a number") from None


def parse_numbers(text: str, input_size: int = 1, max_steps: int | None = MAX_STEPS) -> np.ndarray:
    """Numbers typed by a user -> float32 [T, input_size].

    With input_size 1 any mix of commas, spaces and new lines separates the steps. With more,
    each line (or each ';'-separated group) is one step of `input_size` numbers.
    """
    text = (text or "").strip()
    if not text:
        raise InputError("the sequence is empty; type at least one number")
    if input_size == 1:
        rows = [[cell] for cell in split_items(text)]
    else:
        groups = [g for g in re.split(r"[;\n]+", text) if g.strip()]
        rows = [split_items(g) for g in groups]
    return _to_array(rows, input_size, max_steps, where="step {step}")


def read_sequence_csv(path: str | os.PathLike, input_size: int, max_steps: int | None = MAX_STEPS) -> np.ndarray:
    """A CSV file with one step per line (optional header) -> float32 [T, input_size]."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: the file is over the {MAX_FILE_BYTES // 2**20} MB limit")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (it is not UTF-8)") from None
    return parse_csv_text(text, input_size, max_steps, name=path.name)


def parse_csv_text(text: str, input_size: int, max_steps: int | None = MAX_STEPS, name: str = "the file"
                   ) -> np.ndarray:
    """CSV text with one step per line and an optional header line -> float32 [T, input_size]."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if lines and not all(_is_number(c) for c in lines[0][1].split(",")):
        lines = lines[1:]  # a header line
    if not lines:
        raise InputError(f"{name} has no steps; give one line per step with {input_size} number(s)")
    rows = [[c.strip() for c in line.split(",")] for _, line in lines]
    line_numbers = [n for n, _ in lines]
    return _to_array(rows, input_size, max_steps, where=f"{name} line {{line}}", line_numbers=line_numbers)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _to_array(rows: list[list[str]], input_size: int, max_steps: int | None, where: str,
              line_numbers: list[int] | None = None) -> np.ndarray:
    if max_steps is not None and len(rows) > max_steps:
        raise InputError(f"the sequence has {len(rows)} steps; the limit is {max_steps}")
    out = np.empty((len(rows), input_size), dtype=np.float32)
    for step, row in enumerate(rows):
        place = where.format(step=step, line=line_numbers[step] if line_numbers else step)
        if len(row) != input_size:
            raise InputError(f"{place} has {len(row)} value(s); this model takes {input_size} per step")
        for col, cell in enumerate(row):
            value = to_number(cell, place)
            if not math.isfinite(value):
                raise InputError(f"{place}: {cell} is not allowed; numbers must be finite (no NaN or inf)")
            out[step, col] = value
    return out
