"""`compute_features`: apply registered features to one symbol's bars, engine-free."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from udfs import registry
from warehouse.columns import OHLCV

# numpy dtype of each declared output dtype.
_NUMPY_DTYPES = {"double": np.float64}
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})


def required_columns(names: str | Iterable[str] | None = None) -> list[str]:
    """The bar columns `compute_features(bars, names)` needs: OHLCV, then any extra inputs."""
    columns = list(OHLCV)
    for spec in registry.resolve(names).values():
        columns += [column for column in spec.inputs if column not in columns]
    return columns


def validate_bars(bars: pd.DataFrame, expected: list[str]) -> None:
    """Raise ValueError unless `bars` has the expected columns and an ascending UTC index."""
    if not isinstance(bars, pd.DataFrame):
        raise ValueError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    received = [str(column) for column in bars.columns]
    missing = [column for column in expected if column not in bars.columns]
    if missing:
        raise ValueError(
            f"bars is missing columns {missing}; received columns {received}; "
            f"expected columns {expected}"
        )
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"bars must have a DatetimeIndex, got {type(index).__name__}")
    if index.tz is not None and str(index.tz) not in _UTC_NAMES:
        raise ValueError(f"bars index must be in UTC (or naive UTC), got tz {index.tz}")
    if index.hasnans:
        row = int(np.flatnonzero(index.isna())[0])
        raise ValueError(f"bars index has a missing timestamp at row {row}")
    if len(index) > 1:
        steps = index.asi8[1:] > index.asi8[:-1]
        if not steps.all():
            row = int(np.flatnonzero(~steps)[0]) + 1
            raise ValueError(
                f"bars index must be strictly ascending: row {row} ({index[row]}) "
                f"does not come after row {row - 1} ({index[row - 1]})"
            )


def _restrict(bars: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """`bars[list(columns)]` without copying the columns (`.loc` costs ~5 ms per 1M rows)."""
    arrays = {column: bars[column].to_numpy() for column in columns}
    return pd.DataFrame(arrays, index=bars.index, copy=False)


def run_feature(
    spec: registry.FeatureSpec, bars: pd.DataFrame, columns: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """Call one feature on validated bars and check it returned its columns at full length."""
    values = spec.func(_restrict(bars, spec.inputs))
    out = {}
    for column in spec.outputs if columns is None else columns:
        if column not in values:
            raise ValueError(f"feature {spec.name!r} did not return its output {column!r}")
        array = np.asarray(values[column], dtype=_NUMPY_DTYPES[spec.outputs[column]])
        if array.shape != (len(bars),):
            raise ValueError(
                f"feature {spec.name!r} returned {column!r} with shape {array.shape}, "
                f"expected ({len(bars)},)"
            )
        out[column] = array
    return out


def compute_features(bars: pd.DataFrame, names: str | Iterable[str] | None = None) -> pd.DataFrame:
    """One column per requested feature output (all when `names` is None), indexed like `bars`.

    `bars` is one symbol's OHLCV frame with an ascending UTC DatetimeIndex. `names` holds
    output columns (e.g. "macdsignal") or feature names (all of their outputs).
    """
    resolved = registry.resolve(names)
    validate_bars(bars, required_columns(names))
    wanted: dict[registry.FeatureSpec, list[str]] = {}
    for column, spec in resolved.items():
        wanted.setdefault(spec, []).append(column)
    values: dict[str, np.ndarray] = {}
    for spec, columns in wanted.items():
        values.update(run_feature(spec, bars, columns))
    inputs = [bars[column].to_numpy() for column in bars.columns]
    seen: set[int] = set()
    for column, array in values.items():
        # Outputs are handed to pandas without a copy (copying ~100 columns of a large
        # batch would double peak memory), so an output that is another output's array or
        # a view of the bars is copied: the result never aliases its input or itself.
        if id(array) in seen or any(np.may_share_memory(array, bar) for bar in inputs):
            values[column] = array = array.copy()
        seen.add(id(array))
    return pd.DataFrame(
        {column: values[column] for column in resolved}, index=bars.index, copy=False
    )
