"""Lag features: `<column>_lag_<k>` is `column` as it stood `k` bars earlier."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from udfs.compute import run_feature
from udfs.registry import FeatureSpec, get_feature, register_feature, resolve
from warehouse.columns import OHLCV


@dataclass(frozen=True)
class _Lagged:
    """A lag feature's function (a picklable object, so worker processes can run it)."""

    column: str
    k: int
    base: str | None  # the feature computing `column`; None for a bar column

    def __call__(self, bars: pd.DataFrame) -> dict[str, np.ndarray]:
        """The base column shifted `k` bars later (NaN in the first `k` bars)."""
        if self.base is None:
            values = bars[self.column].to_numpy(dtype=np.float64)
        else:
            values = run_feature(get_feature(self.base), bars, [self.column])[self.column]
        out = np.full(len(values), np.nan)
        if self.k < len(values):
            out[self.k :] = values[: len(values) - self.k]
        return {f"{self.column}_lag_{self.k}": out}


def lag_feature(column: str, k: int) -> FeatureSpec:
    """A causal feature `<column>_lag_<k>`: the bar column or registered output `k` bars back.

    Its warm-up is the base column's warm-up plus `k`. For a feature output, the base
    feature is looked up by name when the lag is computed, so a redefined base is used.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"lag k must be an int >= 1, got {k!r}")
    if column in OHLCV:
        inputs, warmup, base = (column,), 0, None
    else:
        try:
            spec = resolve([column])[column]
        except ValueError as error:
            raise ValueError(
                f"cannot lag {column!r}: it is neither a bar column {list(OHLCV)} nor a "
                f"registered feature output ({error})"
            ) from None
        inputs, warmup, base = spec.inputs, spec.warmup_of(column), spec.name
    name = f"{column}_lag_{k}"
    return FeatureSpec(
        name=name,
        inputs=inputs,
        outputs={name: "double"},
        warmup=warmup + k,
        causal=True,
        func=_Lagged(column, k, base),
    )


def register_lags(columns: Iterable[str], lags: Iterable[int]) -> list[FeatureSpec]:
    """Register `<column>_lag_<k>` for every column and k; returns the specs in that order."""
    lags = list(lags)
    return [register_feature(lag_feature(column, k)) for column in columns for k in lags]
