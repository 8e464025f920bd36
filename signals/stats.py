"""Backtest statistics from per-bar returns and the trade list."""

from __future__ import annotations

import numpy as np
import pandas as pd

SECONDS_PER_YEAR = 365.25 * 24 * 3600
STAT_NAMES = (
    "bars",
    "trades",
    "win_rate",
    "profit_factor",
    "total_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "exposure",
    "cagr",
    "avg_drawdown",
    "avg_trade_duration_hours",
    "avg_monthly_return",
)


def periods_per_year_of(index: pd.Index) -> float:
    """Bars per calendar year, from the median spacing of a DatetimeIndex."""
    if len(index) < 2:
        return np.nan
    spacing = pd.Series(index).diff().median().total_seconds()
    return SECONDS_PER_YEAR / spacing if spacing > 0 else np.nan


def compute_stats(
    returns: np.ndarray,
    trades: pd.DataFrame,
    index: pd.Index,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """The statistics of DESIGN.md's "Strategies and backtests" for one backtest."""
    ppy = periods_per_year or periods_per_year_of(index)
    closed = trades["return"].dropna().to_numpy(dtype="float64")
    gains, losses = closed[closed > 0].sum(), -closed[closed < 0].sum()
    equity = np.cumprod(np.concatenate([[1.0], 1 + returns]))
    drawdown = equity / np.maximum.accumulate(equity) - 1
    std = returns.std(ddof=1) if len(returns) > 1 else np.nan
    downside = np.sqrt(np.mean(np.minimum(returns, 0) ** 2)) if len(returns) else np.nan
    mean = returns.mean() if len(returns) else np.nan
    values = {
        "bars": float(len(returns)),
        "trades": float(len(closed)),
        "win_rate": float((closed > 0).mean()) if len(closed) else np.nan,
        "profit_factor": float(gains / losses) if losses > 0 else (np.inf if gains > 0 else np.nan),
        "total_return": float(equity[-1] - 1),
        "sharpe": float(mean / std * np.sqrt(ppy)) if std and std > 0 else np.nan,
        "sortino": float(mean / downside * np.sqrt(ppy)) if downside and downside > 0 else np.nan,
        "max_drawdown": float(drawdown.min()),
        "exposure": float((returns != 0).mean()) if len(returns) else np.nan,
        **_time_stats(equity, trades, index),
        "avg_drawdown": _average_drawdown(drawdown),
    }
    return {name: values[name] for name in STAT_NAMES}


def _average_drawdown(drawdown: np.ndarray) -> float:
    """Mean depth of the drawdown episodes (each run below the running peak: its trough)."""
    below = drawdown < 0
    if not below.any():
        return 0.0
    starts = np.flatnonzero(below & ~np.concatenate([[False], below[:-1]]))
    ends = np.flatnonzero(below & ~np.concatenate([below[1:], [False]]))
    return float(np.mean([drawdown[a : b + 1].min() for a, b in zip(starts, ends, strict=True)]))


def _time_stats(equity: np.ndarray, trades: pd.DataFrame, index: pd.Index) -> dict[str, float]:
    """CAGR, average closed-trade duration and average calendar-month return."""
    out = {"cagr": np.nan, "avg_trade_duration_hours": np.nan, "avg_monthly_return": np.nan}
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return out
    years = (index[-1] - index[0]).total_seconds() / SECONDS_PER_YEAR
    if years > 0 and equity[-1] > 0:
        with np.errstate(over="ignore"):  # spans of hours annualise to inf, honestly
            out["cagr"] = float(equity[-1] ** (1 / years) - 1)
    timed = {"entry_time", "exit_time"} <= set(trades.columns)
    closed = trades.dropna(subset=["entry_time", "exit_time"]) if timed else trades.iloc[:0]
    if len(closed):
        held = pd.to_datetime(closed["exit_time"]) - pd.to_datetime(closed["entry_time"])
        out["avg_trade_duration_hours"] = float(held.dt.total_seconds().mean() / 3600)
    month_end = pd.Series(equity[1:], index=index).resample("ME").last().dropna()
    monthly = np.concatenate([[1.0], month_end.to_numpy()])
    out["avg_monthly_return"] = float(np.mean(monthly[1:] / monthly[:-1] - 1))
    return out
