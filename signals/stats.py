"""Backtest statistics from per-bar returns and the trade list: one backtest, or a grid.

`compute_stats` reads one backtest's per-bar returns and trade frame (pandas). `grid_stats`
computes the same statistics for every cell of a `signals.kernel.run_grid` result in
numba, straight from the trade records and the closes, both cores in parallel;
`grid_daily_equity` gives the cells' end-of-day equity curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit, prange

from signals.kernel import BacktestParams, GridResult, Prices, effective_price, plain

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
    "expectancy",
    "volatility",
    "calmar",
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
    volatility = float(std * np.sqrt(ppy))
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
        "expectancy": float(closed.mean()) if len(closed) else np.nan,
        "volatility": volatility,
    }
    max_drawdown = values["max_drawdown"]
    values["calmar"] = values["cagr"] / -max_drawdown if max_drawdown < 0 else np.nan
    return {name: float(values[name]) for name in STAT_NAMES}


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


# --- many cells at once (numba) -------------------------------------------------------------
# The kernels write one row per cell in STAT_NAMES order: bars, trades, win_rate,
# profit_factor, total_return, sharpe, sortino, max_drawdown, exposure, cagr, avg_drawdown,
# avg_trade_duration_hours, avg_monthly_return, expectancy, volatility, calmar.


@njit(cache=True, nogil=True)
def _fill_returns(close, start, end, entry, exit_, entry_px, exit_px, t0, t1, p, out):
    """Per-bar equity returns of one cell (p: sign, fees, slippage, position size)."""
    sign, fees, slip, size = p[0], p[1], p[2], p[3]
    out[:] = 0.0
    for k in range(t0, t1):
        if entry[k] < 0:
            continue
        paid = effective_price(entry_px[k], sign, fees, slip)
        last = exit_[k] if exit_[k] >= 0 else end - 1
        previous = 1.0
        for i in range(entry[k], last + 1):
            mark = effective_price(exit_px[k], -sign, fees, slip) if i == exit_[k] else close[i]
            value = (1 - size) + size * (1 + sign * (mark - paid) / paid)
            out[i - start] = value / previous - 1
            previous = value


@njit(cache=True, nogil=True)
def _return_stats(r, ts, per_second, period, ppy, out):
    """Return, risk, drawdown and calendar statistics of one cell's per-bar returns."""
    n = r.shape[0]
    total = down = 0.0
    nonzero = 0
    for i in range(n):
        total += r[i]
        nonzero += r[i] != 0
        down += min(r[i], 0.0) ** 2
    mean = total / n if n else np.nan
    squares = 0.0
    for i in range(n):
        squares += (r[i] - mean) ** 2
    std = np.sqrt(squares / (n - 1)) if n > 1 else np.nan
    downside = np.sqrt(down / n) if n else np.nan
    equity = peak = month_equity = 1.0
    worst = trough = month_sum = trough_sum = 0.0
    months = troughs = 0
    for i in range(n):
        equity *= 1 + r[i]
        peak = max(peak, equity)
        drawdown = equity / peak - 1
        worst = min(worst, drawdown)
        if drawdown < 0:
            trough = min(trough, drawdown)
        elif trough < 0:
            trough_sum, troughs, trough = trough_sum + trough, troughs + 1, 0.0
        if i == n - 1 or period[i + 1] != period[i]:
            month_sum, months, month_equity = (
                month_sum + equity / month_equity - 1,
                months + 1,
                equity,
            )
    if trough < 0:
        trough_sum, troughs = trough_sum + trough, troughs + 1
    out[0], out[4], out[7] = n, equity - 1, worst
    out[5] = mean / std * np.sqrt(ppy) if std > 0 else np.nan
    out[6] = mean / downside * np.sqrt(ppy) if downside > 0 else np.nan
    out[8] = nonzero / n if n else np.nan
    out[10] = trough_sum / troughs if troughs else 0.0
    out[14] = std * np.sqrt(ppy)
    out[9] = out[12] = np.nan
    if n > 1:
        years = (ts[n - 1] - ts[0]) / per_second / SECONDS_PER_YEAR
        if years > 0 and equity > 0:
            out[9] = equity ** (1 / years) - 1
        out[12] = month_sum / months
    out[15] = out[9] / -worst if worst < 0 else np.nan


@njit(cache=True, nogil=True)
def _trade_stats(ts, per_second, t0, t1, entry, exit_, ret, timed, out):
    """Closed-trade statistics of one cell: count, win rate, profit factor, duration, mean."""
    closed = wins = 0
    gains = losses = total = seconds = 0.0
    for k in range(t0, t1):
        if exit_[k] < 0:
            continue
        closed += 1
        wins += ret[k] > 0
        gains += ret[k] if ret[k] > 0 else 0.0
        losses -= ret[k] if ret[k] < 0 else 0.0
        total += ret[k]
        seconds += (ts[exit_[k]] - ts[entry[k]]) / per_second
    out[1] = closed
    out[2] = wins / closed if closed else np.nan
    out[3] = gains / losses if losses > 0 else (np.inf if gains > 0 else np.nan)
    out[11] = seconds / closed / 3600 if closed and timed else np.nan
    out[13] = total / closed if closed else np.nan


@njit(cache=True, nogil=True, parallel=True)
def _grid_stats(
    close, bounds, ts, per_second, month, columns, trades_i, trades_f, first, count, p, ppy, out
):
    for cell in prange(out.shape[0]):
        seg, col = cell // columns, cell % columns
        start, end = bounds[seg], bounds[seg + 1]
        t0, t1 = first[cell], first[cell] + count[cell]
        r = np.empty(end - start)
        entry, exit_ = trades_i[0], trades_i[1]
        _fill_returns(close, start, end, entry, exit_, trades_f[0], trades_f[1], t0, t1, p[col], r)
        _return_stats(r, ts[start:end], per_second, month[start:end], ppy[seg], out[cell])
        _trade_stats(ts, per_second, t0, t1, entry, exit_, trades_f[2], end - start > 1, out[cell])


@njit(cache=True, nogil=True, parallel=True)
def _grid_period_equity(close, start, end, period, cells, trades_i, trades_f, first, count, p, out):
    for j in prange(cells.shape[0]):
        cell = cells[j]
        r = np.empty(end - start)
        t0, t1 = first[cell], first[cell] + count[cell]
        entry, exit_, entry_px, exit_px = trades_i[0], trades_i[1], trades_f[0], trades_f[1]
        _fill_returns(close, start, end, entry, exit_, entry_px, exit_px, t0, t1, p[j], r)
        equity, row = 1.0, 0
        for i in range(end - start):
            equity *= 1 + r[i]
            if i == end - start - 1 or period[i + 1] != period[i]:
                out[row, j] = equity
                row += 1


@njit(cache=True, nogil=True)
def _month_of_day(day):
    """year * 12 + month of a day number since 1970-01-01 (civil-from-days, Gregorian)."""
    z = day + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    return (yoe + era * 400 + (month <= 2)) * 12 + month


@njit(cache=True, nogil=True, parallel=True)
def _month_ids(wall, per_day, out):
    """Month ids of wall-clock times, in blocks; the calendar is consulted once per new day."""
    block = 1 << 16
    for b in prange((wall.shape[0] + block - 1) // block):
        day_start, day_end, month = 1, 0, 0
        for i in range(b * block, min(wall.shape[0], (b + 1) * block)):
            if not day_start <= wall[i] < day_end:
                day = wall[i] // per_day
                day_start, day_end = day * per_day, (day + 1) * per_day
                month = _month_of_day(day)
            out[i] = month


def _calendar(index: pd.DatetimeIndex) -> tuple[np.ndarray, float, np.ndarray]:
    """Times in the index's own unit, units per second, and each bar's local month id."""
    per_second = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[index.unit]
    ts = plain(index.asi8, np.int64)
    utc = index.tz is None or str(index.tz) in ("UTC", "Etc/UTC")
    wall = ts if utc else plain(index.tz_localize(None).asi8, np.int64)  # local clock
    month = np.empty(len(index), dtype=np.int64)
    _month_ids(wall, np.int64(per_second * 86400), month)
    return ts, per_second, month


def _periods_per_year(ts: np.ndarray, per_second: float, bounds: np.ndarray) -> np.ndarray:
    """periods_per_year_of for each segment, from the median spacing of its times."""
    out = np.full(len(bounds) - 1, np.nan)
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if b - a >= 2:
            gaps = np.diff(ts[a:b])
            regular = gaps.min() == gaps.max()  # the usual case: no partition needed
            spacing = (gaps[0] if regular else np.median(gaps)) / per_second
            out[k] = SECONDS_PER_YEAR / spacing if spacing > 0 else np.nan
    return out


def _cost_table(params: Sequence[BacktestParams]) -> np.ndarray:
    rows = [(p.sign, p.fees, p.slippage, p.position_size) for p in params]
    return np.array(rows, dtype=np.float64).reshape(len(params), 4)


def _checked_index(index: pd.Index, prices: Prices) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex) or len(index) != len(prices.close):
        raise ValueError(
            f"index: expected a DatetimeIndex with one entry per bar ({len(prices.close)}), "
            f"got {type(index).__name__} of length {len(index)}"
        )
    return index


def grid_stats(
    result: GridResult,
    prices: Prices,
    index: pd.DatetimeIndex,
    params: Sequence[BacktestParams],
    periods_per_year: float | Sequence[float] | None = None,
) -> pd.DataFrame:
    """STAT_NAMES for every cell of `result`, indexed by (segment, column).

    `index` holds the concatenated bars' times; periods per year default to each
    segment's median bar spacing (as in compute_stats).
    """
    index = _checked_index(index, prices)
    bounds = plain(prices.bounds, np.int64)
    ts, per_second, month = _calendar(index)
    if periods_per_year is None:
        ppy = _periods_per_year(ts, per_second, bounds)
    else:
        ppy = np.broadcast_to(np.asarray(periods_per_year, dtype=np.float64), (prices.segments,))
    cells = prices.segments * result.columns
    out = np.empty((cells, len(STAT_NAMES)), dtype=np.float64)
    trades_i = np.stack([result.entry, result.exit])
    trades_f = np.stack([result.entry_price, result.exit_price, result.ret])
    close = plain(prices.close, np.float64)
    _grid_stats(
        close, bounds, ts, per_second, month, result.columns, trades_i, trades_f, result.first,
        result.count, _cost_table(params), plain(ppy, np.float64), out,
    )  # fmt: skip
    labels = pd.MultiIndex.from_product(
        [range(prices.segments), range(result.columns)], names=["segment", "column"]
    )
    return pd.DataFrame(out, index=labels, columns=list(STAT_NAMES))


def grid_daily_equity(
    result: GridResult,
    prices: Prices,
    index: pd.DatetimeIndex,
    params: Sequence[BacktestParams],
    segment: int,
) -> pd.DataFrame:
    """End-of-day equity (1.0 at the start) of every column on one segment: days x columns."""
    index = _checked_index(index, prices)
    start, end = int(prices.bounds[segment]), int(prices.bounds[segment + 1])
    days = index[start:end].normalize()
    period = plain(days.as_unit("ns").asi8, np.int64)
    cells = segment * result.columns + np.arange(result.columns, dtype=np.int64)
    out = np.empty((len(days.unique()), result.columns), dtype=np.float64)
    trades_i = np.stack([result.entry, result.exit])
    trades_f = np.stack([result.entry_price, result.exit_price])
    _grid_period_equity(
        plain(prices.close, np.float64), start, end, period, cells, trades_i, trades_f,
        result.first, result.count, _cost_table(params), out,
    )  # fmt: skip
    return pd.DataFrame(out, index=days.unique(), columns=range(result.columns))
