"""Typing and validating one raw file; every error names the file, row and column."""

from __future__ import annotations

import pandas as pd

from warehouse.columns import SYMBOL
from warehouse.datasets import Dataset

PRICE_COLUMNS = ("open", "high", "low", "close")


class ValidationError(ValueError):
    """A raw file that breaks its dataset's contract."""


def _line(position: int) -> int:
    """The file line of a data row (line 1 is the header)."""
    return position + 2


def _cast(values: pd.Series, kind: str) -> pd.Series:
    if kind == "double":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if kind == "bigint":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if kind in ("timestamp", "date"):
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        parsed = parsed.dt.tz_localize(None)
        return parsed.dt.normalize() if kind == "date" else parsed
    return values.astype("string").str.strip()


def _first_bad(name: str, mask: pd.Series, frame: pd.DataFrame, column: str, why: str) -> None:
    if mask.any():
        position = int(mask.to_numpy().nonzero()[0][0])
        value = frame[column].iloc[position]
        raise ValidationError(
            f"{name}: row {_line(position)}, column {column!r}: {why} (got {value!r}); "
            f"{int(mask.sum())} row(s) affected"
        )


def validate(frame: pd.DataFrame, dataset: Dataset, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Typed rows of `dataset` from a text frame, and the extra columns seen (schema drift)."""
    expected = dataset.columns
    received = list(frame.columns)
    missing = [c for c in expected if c not in received]
    if missing:
        raise ValidationError(
            f"{name}: missing column(s) {missing}; received {received}; expected {list(expected)}"
        )
    known = dataset.all_columns()
    extra = [c for c in received if c not in known]
    typed = pd.DataFrame(index=frame.index)
    for column, kind in known.items():
        if column not in frame.columns:
            continue
        raw = frame[column].astype("string")
        blank = raw.isna() | (raw.str.strip() == "")
        typed[column] = _cast(raw, kind)
        if column in expected:
            _first_bad(name, blank, frame, column, "required value is empty")
        _first_bad(name, typed[column].isna() & ~blank, frame, column, f"not a valid {kind}")
    _check_prices(typed, frame, name)
    duplicated = typed.duplicated(list(dataset.key), keep=False)
    _first_bad(name, duplicated, frame, dataset.key[-1], f"duplicate key {list(dataset.key)}")
    return typed.reset_index(drop=True), extra


def _check_prices(typed: pd.DataFrame, frame: pd.DataFrame, name: str) -> None:
    if not set(PRICE_COLUMNS) <= set(typed.columns):
        return
    for column in PRICE_COLUMNS:
        _first_bad(name, ~(typed[column] > 0), frame, column, "price must be positive")
    _first_bad(name, typed["high"] < typed["low"], frame, "high", "high is below low")
    _first_bad(name, typed["volume"] < 0, frame, "volume", "volume is negative")
    if SYMBOL in typed.columns:
        _first_bad(name, typed[SYMBOL] == "", frame, SYMBOL, "symbol is empty")
