"""Comparing feature tables: NULLs in the same places, values within a relative tolerance."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
