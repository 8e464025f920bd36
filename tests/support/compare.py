"""Comparing feature tables: NULLs in the same places, values within a relative tolerance,
and one partition of an engine's table against `compute_features` on its source bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from udfs import compute_features, output_columns


def assert_same_features(
    got: pd.DataFrame, want: pd.DataFrame, columns: list[str], rtol: float, what: str = ""
) -> None:
    """Each column: NaN/NULL positions identical, infinities identical, finite values within
    `rtol` times the column's largest finite magnitude (exact when `rtol` is 0)."""
    for column in columns:
        have = got[column].to_numpy(dtype=np.float64, na_value=np.nan)
        expected = want[column].to_numpy(dtype=np.float64, na_value=np.nan)
        label = f"{what} {column}".strip()
        np.testing.assert_array_equal(np.isnan(have), np.isnan(expected), err_msg=label)
        infinite = np.isinf(expected)
        np.testing.assert_array_equal(have[infinite], expected[infinite], err_msg=label)
        finite = np.isfinite(expected)
        scale = np.abs(expected[finite]).max() if finite.any() else 0.0
        np.testing.assert_allclose(
            have[finite], expected[finite], rtol=0, atol=rtol * scale, err_msg=label
        )


def expected_features(
    rows: pd.DataFrame, symbol: str, timeframe: str, names: list[str] | None = None
) -> pd.DataFrame:
    """`compute_features` on one (symbol, timeframe) partition of engine source rows."""
    part = rows[(rows["symbol"] == symbol) & (rows["timeframe"] == timeframe)]
    bars = part.set_index("ts").sort_index().tz_localize("UTC")
    return compute_features(bars[["open", "high", "low", "close", "volume"]], names)


def assert_partition_is_compute_features(
    part: pd.DataFrame, rows: pd.DataFrame, symbol: str, timeframe: str
) -> None:
    """One partition of a feature table has the source's ts in order and, in every output
    column, exactly `compute_features`' values (NULL read as NaN)."""
    want = expected_features(rows, symbol, timeframe)
    np.testing.assert_array_equal(part["ts"].to_numpy(), want.index.tz_localize(None))
    for column in output_columns():
        got = part[column].to_numpy(dtype=np.float64, na_value=np.nan)
        np.testing.assert_array_equal(
            got, want[column].to_numpy(), err_msg=f"{symbol} {timeframe} {column}"
        )
