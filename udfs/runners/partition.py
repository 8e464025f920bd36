"""One partition's features: the plan every runner resolves once and the functions it ships.

A runner resolves the requested names into a `FeaturePlan` in the driver and hands the plan
(not names) to wherever partitions are computed -- a worker process, a Spark executor, a
Snowflake UDTF. The plan carries the `FeatureSpec`s themselves, so a feature registered at
run time in the driver is computed by the same code everywhere, without a registry lookup on
the other side. `compute_arrays` is `udfs.compute_features` (same validation, same
`run_feature` calls) on plain arrays; `partition_frame` wraps it for engines that hand over a
pandas frame of one group in any row order and column-name case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from udfs.compute import required_columns, run_feature, validate_bars
from udfs.registry import FeatureSpec, resolve
from warehouse.columns import AVAILABLE_AT, SYMBOL, TIMEFRAME, TS

KEY_COLUMNS = (SYMBOL, TIMEFRAME, TS, AVAILABLE_AT)
# Bumped when a runner's output for the same plan and bars changes (invalidates stored state).
RUNNER_VERSION = 1


@dataclass(frozen=True)
class FeaturePlan:
    """Requested output columns in order, the specs that compute them, and the bar inputs."""

    columns: tuple[str, ...]
    groups: tuple[tuple[FeatureSpec, tuple[str, ...]], ...]
    inputs: tuple[str, ...]

    @classmethod
    def resolve(cls, names: str | Iterable[str] | None = None) -> FeaturePlan:
        """The plan for `names` (output columns or feature names; all when None)."""
        resolved = resolve(names)
        wanted: dict[FeatureSpec, list[str]] = {}
        for column, spec in resolved.items():
            wanted.setdefault(spec, []).append(column)
        return cls(
            columns=tuple(resolved),
            groups=tuple((spec, tuple(columns)) for spec, columns in wanted.items()),
            inputs=tuple(required_columns(list(resolved))),
        )

    def subset(self, columns: Iterable[str]) -> FeaturePlan:
        """The plan restricted to `columns` (same bar inputs)."""
        wanted = set(columns)
        groups = tuple(
            (spec, tuple(c for c in cols if c in wanted))
            for spec, cols in self.groups
            if wanted.intersection(cols)
        )
        kept = tuple(column for column in self.columns if column in wanted)
        return FeaturePlan(columns=kept, groups=groups, inputs=self.inputs)

    @property
    def read_columns(self) -> tuple[str, ...]:
        """Source columns a runner reads: the keys, then every bar input."""
        return (*KEY_COLUMNS, *(column for column in self.inputs if column not in KEY_COLUMNS))

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Target columns in order: the keys, then one column per feature output."""
        return (*KEY_COLUMNS, *self.columns)

    @property
    def dtypes(self) -> dict[str, str]:
        """Each output column's declared dtype, in column order."""
        declared = {column: spec.outputs[column] for spec, cols in self.groups for column in cols}
        return {column: declared[column] for column in self.columns}

    @property
    def max_warmup(self) -> int:
        """The longest declared warm-up of the plan's specs."""
        return max((spec.warmup for spec, _ in self.groups), default=0)

    def fingerprint(self) -> str:
        """A digest of the declarations behind each column; a change means recompute all."""
        described = [
            {
                "feature": spec.name,
                "columns": list(columns),
                "dtypes": [spec.outputs[column] for column in columns],
                "inputs": list(spec.inputs),
                "warmup": spec.warmup,
                "output_warmups": dict(getattr(spec, "output_warmups", {})),
                "func": f"{getattr(spec.func, '__module__', '')}."
                f"{getattr(spec.func, '__qualname__', type(spec.func).__name__)}",
            }
            for spec, columns in self.groups
        ]
        text = json.dumps([RUNNER_VERSION, list(self.columns), described], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def compute_arrays(
    plan: FeaturePlan, ts: np.ndarray, inputs: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """One float64 array per plan column for one partition's bars, ascending by `ts`.

    `ts` holds naive UTC (or UTC) datetime64 values; `inputs` one array per bar column.
    Validation and values are those of `udfs.compute_features`.
    """
    index = pd.DatetimeIndex(np.asarray(ts), name=TS)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    bars = pd.DataFrame({column: inputs[column] for column in plan.inputs}, index=index)
    validate_bars(bars, list(plan.inputs))
    values: dict[str, np.ndarray] = {}
    for spec, columns in plan.groups:
        values.update(run_feature(spec, bars, columns))
    return {column: values[column] for column in plan.columns}


def running_max(values: np.ndarray) -> np.ndarray:
    """The running maximum (NaT/NaN propagating), e.g. when every bar up to t was known."""
    if len(values) == 0:
        return values.copy()
    return np.maximum.accumulate(values)


def _by_name(frame: pd.DataFrame, wanted: Iterable[str]) -> dict[str, str]:
    """Our lower-case column name -> the frame's column of that name in any case."""
    folded = {str(column).casefold(): column for column in frame.columns}
    missing = [column for column in wanted if column.casefold() not in folded]
    if missing:
        raise ValueError(
            f"partition frame is missing columns {missing}; received columns "
            f"{[str(column) for column in frame.columns]}; expected columns {list(wanted)}"
        )
    return {column: folded[column.casefold()] for column in wanted}


def partition_frame(
    frame: pd.DataFrame, plan: FeaturePlan, *, upper_case: bool = False
) -> pd.DataFrame:
    """Keys plus features of one (symbol, timeframe) group handed over as a pandas frame.

    Rows may come in any order and column names in any case (Spark keeps ours, Snowflake
    upper-cases them). The result is sorted by ts: symbol, timeframe, ts, available_at (the
    running max of the source's), then one float64 column per feature, NaN where undefined;
    its column names are upper-cased when `upper_case` is set.
    """
    names = _by_name(frame, plan.read_columns)
    rows = frame.sort_values(names[TS], kind="stable")
    ts = rows[names[TS]].to_numpy()
    inputs = {
        column: rows[names[column]].to_numpy(dtype=np.float64, na_value=np.nan)
        for column in plan.inputs
    }
    label = ""
    if len(rows):
        label = f"partition symbol={rows[names[SYMBOL]].iloc[0]!r} "
        label += f"timeframe={rows[names[TIMEFRAME]].iloc[0]!r}: "
    try:
        features = compute_arrays(plan, ts, inputs)
    except ValueError as error:
        raise ValueError(f"{label}{error}") from error
    out = {
        SYMBOL: rows[names[SYMBOL]].to_numpy(),
        TIMEFRAME: rows[names[TIMEFRAME]].to_numpy(),
        TS: ts,
        AVAILABLE_AT: running_max(rows[names[AVAILABLE_AT]].to_numpy()),
        **features,
    }
    result = pd.DataFrame(out, columns=list(plan.output_columns))
    if upper_case:
        result.columns = [column.upper() for column in result.columns]
    return result


def group_function(
    plan: FeaturePlan, *, upper_case: bool = False
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The one-argument function an engine applies to each group: `partition_frame` on `plan`.

    Spark's `applyInPandas` and Snowpark's `apply_in_pandas` pickle it (cloudpickle) with the
    plan inside, so the engine's Python workers need the `udfs` package but no registry state.
    """

    def compute_group(frame: pd.DataFrame) -> pd.DataFrame:
        """Features of one (symbol, timeframe) group."""
        return partition_frame(frame, plan, upper_case=upper_case)

    return compute_group
