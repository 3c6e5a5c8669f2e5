"""Private helpers of the ``tinynn`` command: CSV tables, atomic text output and progress display.

Every problem with user input raises :class:`CliError`, whose message the command prints as one
line on standard error before exiting with status 2.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from tinynn import io


class CliError(Exception):
    """A problem with the user's input, reported as one line and exit status 2."""


def read_table(path: str) -> tuple[list[str], list[list[str]]]:
    """Read a CSV file with a header row; return the column names and the non-blank rows."""
    file = Path(path)
    if not file.exists():
        raise CliError(f"data file '{path}' not found")
    if file.is_dir():
        raise CliError(f"data file '{path}' is a folder, expected a CSV file")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle, strict=True) if any(c.strip() for c in row)]
    except UnicodeDecodeError:
        raise CliError(f"'{path}' is not a UTF-8 text CSV file") from None
    except csv.Error as err:
        raise CliError(f"'{path}' is not valid CSV: {err}") from None
    if not rows:
        raise CliError(f"'{path}' is empty: expected a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    if any(not name for name in header):
        raise CliError(f"'{path}' has an empty column name in its header row: {rows[0]}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise CliError(f"'{path}' has duplicate column names: {', '.join(duplicates)}")
    body = rows[1:]
    if not body:
        raise CliError(f"'{path}' has a header but no data rows")
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise CliError(
                f"'{path}' data row {i + 1} has {len(row)} cells, expected {len(header)} "
                f"(the header has {len(header)} columns)"
            )
    return header, body


def parse_columns(value: Sequence[str] | None) -> list[str] | None:
    """Split ``--features a,b c`` into ``['a', 'b', 'c']``; refuse empty and repeated names."""
    if value is None:
        return None
    names = [name.strip() for item in value for name in item.split(",")]
    if not any(names):
        raise CliError("--features names no column; give column names, or leave it out for all")
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise CliError(f"--features lists {', '.join(repeated)} more than once; name each once")
    return [name for name in names if name]


def select_columns(
    path: str, header: list[str], body: list[list[str]], names: Sequence[str]
) -> np.ndarray:
    """Return the named columns as a float array of shape (N, len(names)), checking every cell."""
    missing = [name for name in names if name not in header]
    if missing:
        raise CliError(
            f"column '{missing[0]}' not found in '{path}'; its columns are: {', '.join(header)}"
        )
    index = [header.index(name) for name in names]
    out = np.empty((len(body), len(names)))
    for i, row in enumerate(body):
        for j, k in enumerate(index):
            cell = row[k].strip()
            if not cell:
                raise CliError(
                    f"'{path}' data row {i + 1}, column '{names[j]}' is empty; fill or drop "
                    f"missing values first"
                )
            try:
                if "_" in cell:  # Python reads 1_000 as 1000; a CSV cell like that is a typo
                    raise ValueError(cell)
                number = float(cell)
            except ValueError:
                raise CliError(
                    f"'{path}' data row {i + 1}, column '{names[j]}' holds '{cell}', which is "
                    f"not a number"
                ) from None
            if not math.isfinite(number):
                raise CliError(
                    f"'{path}' data row {i + 1}, column '{names[j]}' is {cell}; drop or impute "
                    f"NaN and infinite values first"
                )
            out[i, j] = number
    return out


def write_text_atomic(path: str | Path, write: Callable[[IO[str]], None]) -> None:
    """Write a text file through a temporary file in the same folder, then rename it."""
    target = Path(path)
    if not target.parent.is_dir():
        raise CliError(f"output folder '{target.parent}' does not exist")
    with io.atomic_write(target, "w") as handle:
        write(handle)


def write_csv(handle: IO[str], header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write ``header`` and ``rows`` as CSV to ``handle``."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


class Progress:
    """Show training progress: a redrawn bar on a terminal, a line every 10% otherwise.

    Called with the optimizer's ``CallbackInfo`` after every iteration; returns None so
    training never stops because of it.
    """

    def __init__(self, total: int, stream: IO[str], *, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = max(1, total // 10)
        self.last_draw = 0.0
        self.drawn = False

    def __call__(self, info: Any) -> None:
        if not self.enabled:
            return
        done = info.iteration + 1
        if self.tty:
            now = time.perf_counter()
            if now - self.last_draw < 0.1 and done < self.total:
                return
            self.last_draw = now
            filled = int(30 * done / self.total)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(
                f"\r[{bar}] {done:>5d}/{self.total} | loss {info.loss:.6e} | {info.elapsed:6.1f} s"
            )
            self.drawn = True
        elif done == 1 or done % self.every == 0 or done == self.total:
            self.stream.write(
                f"iter {done:5d}/{self.total} after {info.elapsed:6.2f} s | loss {info.loss:.6e}\n"
            )
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (on a terminal)."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
