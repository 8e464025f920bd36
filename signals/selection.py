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
    """Thresholds a strategy instance must meet on one symbol to emit signals."""

    min_trades: int = 3
    min_win_rate: float = 0.0
    min_profit_factor: float = 1.0
    min_total_return: float = 0.0
    min_sharpe: float = 0.0
    min_max_drawdown: float = -0.30

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
        """Whether every threshold is met (a missing statistic fails)."""
        checks = (
            (stats["trades"], self.min_trades),
            (stats["win_rate"], self.min_win_rate),
            (stats["profit_factor"], self.min_profit_factor),
            (stats["total_return"], self.min_total_return),
            (stats["sharpe"], self.min_sharpe),
            (stats["max_drawdown"], self.min_max_drawdown),
        )
        return all(not math.isnan(value) and value >= floor for value, floor in checks)


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
