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
    """Trades, win rate, profit factor, total return, Sharpe, Sortino, drawdown, exposure."""
    ppy = periods_per_year or periods_per_year_of(index)
    closed = trades["return"].dropna().to_numpy(dtype="float64")
    gains, losses = closed[closed > 0].sum(), -closed[closed < 0].sum()
    equity = np.cumprod(np.concatenate([[1.0], 1 + returns]))
    drawdown = equity / np.maximum.accumulate(equity) - 1
    std = returns.std(ddof=1) if len(returns) > 1 else np.nan
    downside = np.sqrt(np.mean(np.minimum(returns, 0) ** 2)) if len(returns) else np.nan
    mean = returns.mean() if len(returns) else np.nan
    return {
        "bars": float(len(returns)),
        "trades": float(len(closed)),
        "win_rate": float((closed > 0).mean()) if len(closed) else np.nan,
        "profit_factor": float(gains / losses) if losses > 0 else (np.inf if gains > 0 else np.nan),
        "total_return": float(equity[-1] - 1),
        "sharpe": float(mean / std * np.sqrt(ppy)) if std and std > 0 else np.nan,
        "sortino": float(mean / downside * np.sqrt(ppy)) if downside and downside > 0 else np.nan,
        "max_drawdown": float(drawdown.min()),
        "exposure": float((returns != 0).mean()) if len(returns) else np.nan,
    }
