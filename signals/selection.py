"""The performance filter, applied point-in-time at weekly selection epochs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from signals.stats import compute_stats

DEFAULT_FILTER_PATH = Path(__file__).parent / "library" / "filter.yaml"


@dataclass(frozen=True)
class PerformanceFilter:
    """Thresholds a strategy instance must meet on one symbol to emit signals (None: unchecked)."""

    min_trades: int | None = 3
    min_win_rate: float | None = 0.0
    min_profit_factor: float | None = 1.0
    min_total_return: float | None = 0.0
    min_sharpe: float | None = 0.0
    min_max_drawdown: float | None = -0.30
    min_avg_monthly_return: float | None = None
    min_avg_drawdown: float | None = None

    @classmethod
    def load(cls, path: Path = DEFAULT_FILTER_PATH, **overrides: Any) -> PerformanceFilter:
        """Thresholds from a YAML file, with keyword overrides on top."""
        values = yaml.safe_load(path.read_text()) or {}
        unknown = sorted(set(values) | set(overrides) - set(cls.__dataclass_fields__))
        unknown = [k for k in unknown if k not in cls.__dataclass_fields__]
        if unknown:
            raise ValueError(f"{path}: unknown threshold(s) {unknown}")
        return cls(**{**values, **overrides})

    def passes(self, stats: dict[str, float]) -> bool:
        """Whether every set threshold is met (a missing or NaN statistic fails)."""
        return all(
            not math.isnan(value := float(stats.get(statistic, math.nan))) and value >= floor
            for statistic, floor in self.floors().items()
        )

    def floors(self) -> dict[str, float]:
        """The checked thresholds by the statistic they bound (`min_x` bounds `x`)."""
        return {
            name.removeprefix("min_"): floor
            for name in self.__dataclass_fields__
            if (floor := getattr(self, name)) is not None
        }


def weekly_epochs(available_at: pd.Series) -> pd.DatetimeIndex:
    """Mondays 00:00 UTC after the first bar became available, up to the last one."""
    first, last = available_at.min(), available_at.max()
    return pd.date_range(first.normalize() + pd.offsets.Week(weekday=0), last, freq="W-MON")


def select_point_in_time(
    available_at: pd.Series,
    returns: np.ndarray,
    trades: pd.DataFrame,
    index: pd.Index,
    performance_filter: PerformanceFilter,
    periods_per_year: float | None = None,
) -> pd.DataFrame:
    """At each epoch, the filter's verdict on what was known then (bars available by it)."""
    rows = []
    for epoch in weekly_epochs(available_at):
        k = int(available_at.searchsorted(epoch, side="right"))
        closed_by_then = trades["exit_index"].notna() & (trades["exit_index"] < k)
        stats = compute_stats(
            returns[:k], trades[closed_by_then.fillna(False)], index[:k], periods_per_year
        )
        rows.append({"decided_at": epoch, **stats, "is_selected": performance_filter.passes(stats)})
    return pd.DataFrame(rows)
