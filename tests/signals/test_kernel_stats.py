"""signals.stats.grid_stats / grid_daily_equity against a straightforward pandas implementation.

`straightforward_stats` below is written separately from signals.stats: it values the
account bar by bar (cash plus the stake in the trade), then reads every statistic off the
equity curve with plain pandas. The fast statistics must agree with it, and with
compute_stats on backtest_signals' own returns, on varied grids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals import backtest_signals
from signals.kernel import BacktestParams, GridResult, Prices, run_grid
from signals.stats import STAT_NAMES, grid_daily_equity, grid_stats

SECONDS_PER_YEAR = 365.25 * 24 * 3600


def cell_trades(result: GridResult, cell: int, offset: int) -> list[dict[str, float]]:
    """Trades with a fill: entry/exit positions within the segment and prices."""
    rows = []
    for k in range(result.first[cell], result.first[cell] + result.count[cell]):
        if result.entry[k] >= 0:
            exit_ = int(result.exit[k]) - offset if result.exit[k] >= 0 else None
            rows.append(
                {
                    "entry": int(result.entry[k]) - offset,
                    "exit": exit_,
                    "entry_price": float(result.entry_price[k]),
                    "exit_price": float(result.exit_price[k]),
                }
            )
    return rows


def account_equity(
    bars: pd.DataFrame, trades: list[dict[str, float]], p: BacktestParams
) -> pd.Series:
    """Account value at each close, starting from 1.0: cash plus the stake in the open trade."""
    long = p.direction == "long"
    buy, sell = (1 + p.slippage) * (1 + p.fees), (1 - p.slippage) * (1 - p.fees)
    equity = pd.Series(np.nan, index=bars.index)
    account = 1.0
    held = {}
    for trade in trades:
        last = trade["exit"] if trade["exit"] is not None else len(bars) - 1
        for t in range(trade["entry"], last + 1):
            held[t] = trade
    for t in range(len(bars)):
        trade = held.get(t)
        if trade is None:
            equity.iloc[t] = account
            continue
        if t == trade["entry"]:
            before = account
            trade["cost"] = trade["entry_price"] * (buy if long else sell)
        stake = before * p.position_size
        if t == trade["exit"]:
            mark = trade["exit_price"] * (sell if long else buy)
        else:
            mark = bars["close"].iloc[t]
        gain = (mark - trade["cost"]) / trade["cost"]
        account_now = before - stake + stake * (1 + (gain if long else -gain))
        equity.iloc[t] = account_now
        if t == trade["exit"]:
            account = account_now
    return equity


def straightforward_stats(
    bars: pd.DataFrame, trades: list[dict[str, float]], p: BacktestParams
) -> dict[str, float]:
    """Every statistic of STAT_NAMES, from the account's equity curve and the closed trades."""
    long = p.direction == "long"
    equity = account_equity(bars, trades, p)
    curve = pd.concat([pd.Series([1.0]), equity.reset_index(drop=True)], ignore_index=True)
    returns = curve.pct_change().iloc[1:]
    ppy = SECONDS_PER_YEAR / bars.index.to_series().diff().dt.total_seconds().median()
    drawdown = curve / curve.cummax() - 1
    below = drawdown < 0
    episodes = drawdown[below].groupby((~below).cumsum()[below]).min()
    downside = np.sqrt((returns.clip(upper=0) ** 2).mean())
    span_years = (bars.index[-1] - bars.index[0]).total_seconds() / SECONDS_PER_YEAR
    cagr = curve.iloc[-1] ** (1 / span_years) - 1
    month_ends = equity.groupby([bars.index.year, bars.index.month]).last()
    monthly = pd.concat([pd.Series([1.0]), month_ends.reset_index(drop=True)]).pct_change().iloc[1:]
    closed = [t for t in trades if t["exit"] is not None]
    results = []
    for t in closed:
        paid = t["entry_price"] * (
            (1 + p.slippage) * (1 + p.fees) if long else (1 - p.slippage) * (1 - p.fees)
        )
        got = t["exit_price"] * (
            (1 - p.slippage) * (1 - p.fees) if long else (1 + p.slippage) * (1 + p.fees)
        )
        results.append(got / paid - 1 if long else (paid - got) / paid)
    wins = [r for r in results if r > 0]
    losses = [-r for r in results if r < 0]
    hours = [
        (bars.index[t["exit"]] - bars.index[t["entry"]]).total_seconds() / 3600 for t in closed
    ]
    max_drawdown = drawdown.min()
    return {
        "bars": len(bars),
        "trades": len(closed),
        "win_rate": len(wins) / len(results) if results else np.nan,
        "profit_factor": sum(wins) / sum(losses) if losses else (np.inf if wins else np.nan),
        "total_return": curve.iloc[-1] - 1,
        "sharpe": returns.mean() / returns.std() * np.sqrt(ppy),
        "sortino": returns.mean() / downside * np.sqrt(ppy) if downside > 0 else np.nan,
        "max_drawdown": max_drawdown,
        "exposure": (returns != 0).mean(),
        "cagr": cagr,
        "avg_drawdown": episodes.mean() if len(episodes) else 0.0,
        "avg_trade_duration_hours": np.mean(hours) if hours else np.nan,
        "avg_monthly_return": monthly.mean(),
        "expectancy": np.mean(results) if results else np.nan,
        "volatility": returns.std() * np.sqrt(ppy),
        "calmar": cagr / -max_drawdown if max_drawdown < 0 else np.nan,
    }


def walk(seed: int, n: int, freq: str, tz: str = "UTC", start: str = "2023-01-01") -> pd.DataFrame:
    """A random walk of OHLC bars at `freq`."""
    rng = np.random.default_rng(seed)
    moves = rng.normal(0, 0.01, n)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, n) + moves))
    open_ = close * np.exp(-moves)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    index = pd.date_range(start, periods=n, freq=freq, tz=tz)
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=index)


PARAMS = [
    BacktestParams(stoploss=-0.03, take_profit=0.04, fees=0.001, slippage=0.0005),
    BacktestParams(direction="short", trailing_stop=0.02, fees=0.002, position_size=0.4),
    BacktestParams(roi={0: 0.02, 6: 0.0}, position_size=0.75),
    BacktestParams(direction="short", stoploss=-0.05),
    BacktestParams(),
]


def grid(
    frames: list[pd.DataFrame], seed: int, density: float = 0.05
) -> tuple[Prices, pd.DatetimeIndex, GridResult]:
    prices = Prices.from_frames(frames)
    rng = np.random.default_rng(seed)
    shape = (len(prices.close), len(PARAMS))
    entries, exits = rng.random(shape) < density, rng.random(shape) < density
    index = frames[0].index.append([f.index for f in frames[1:]])
    return prices, index, run_grid(prices, entries, exits, PARAMS)


FRAMES = {
    "hourly_utc": [walk(1, 2000, "h"), walk(2, 1500, "h", start="2023-06-01")],
    "daily_new_york_with_a_missing_month": [
        pd.concat(
            [
                walk(3, 120, "D", "America/New_York"),
                walk(4, 100, "D", "America/New_York", "2023-07-15"),
            ]
        )
    ],
    "minutes_over_a_month_end": [walk(5, 3000, "min", start="2023-01-30 22:00")],
    # local months differ from UTC ones for nine hours at each month end
    "hourly_tokyo": [walk(9, 1600, "h", "Asia/Tokyo", "2023-02-20")],
    # before 1970 and across the leap days of 1972, 1976 and the non-leap 1900s rule
    "daily_from_1968_seconds": [
        walk(10, 3000, "D", start="1968-12-01").pipe(lambda f: f.set_axis(f.index.as_unit("s")))
    ],
}


@pytest.mark.parametrize("case", sorted(FRAMES))
def test_grid_stats_match_a_straightforward_implementation(case: str) -> None:
    frames = FRAMES[case]
    prices, index, result = grid(frames, seed=len(case))
    stats = grid_stats(result, prices, index, PARAMS)
    assert list(stats.columns) == list(STAT_NAMES)
    met_open_trades = False
    for segment, bars in enumerate(frames):
        offset = int(prices.bounds[segment])
        for column, params in enumerate(PARAMS):
            trades = cell_trades(result, segment * len(PARAMS) + column, offset)
            met_open_trades |= any(t["exit"] is None for t in trades)
            expected = straightforward_stats(bars, trades, params)
            got = stats.loc[(segment, column)]
            for name in STAT_NAMES:
                assert got[name] == pytest.approx(
                    expected[name], rel=1e-9, abs=1e-12, nan_ok=True
                ), (
                    segment,
                    column,
                    name,
                )
    assert met_open_trades


def test_grid_stats_equal_backtest_signals_statistics() -> None:
    frames = FRAMES["hourly_utc"]
    prices, index, result = grid(frames, seed=9)
    stats = grid_stats(result, prices, index, PARAMS)
    rng = np.random.default_rng(9)
    shape = (len(prices.close), len(PARAMS))
    entries, exits = rng.random(shape) < 0.05, rng.random(shape) < 0.05
    for segment, bars in enumerate(frames):
        a, b = prices.bounds[segment], prices.bounds[segment + 1]
        for column, p in enumerate(PARAMS):
            options = {k: getattr(p, k) for k in ("trailing_stop", "roi", "position_size")}
            _, expected = backtest_signals(
                bars,
                pd.Series(entries[a:b, column], bars.index),
                pd.Series(exits[a:b, column], bars.index),
                stoploss=p.stoploss,
                take_profit=p.take_profit,
                fees=p.fees,
                slippage=p.slippage,
                direction=p.direction,
                **options,
            )
            got = stats.loc[(segment, column)]
            for name in STAT_NAMES:
                assert got[name] == pytest.approx(
                    expected[name], rel=1e-9, abs=1e-12, nan_ok=True
                ), name


def test_grid_stats_of_tiny_and_idle_segments() -> None:
    frames = [walk(6, 1, "h"), walk(7, 50, "h")]
    prices = Prices.from_frames(frames)
    index = frames[0].index.append(frames[1].index)
    idle = np.zeros((51, 1), dtype=bool)
    result = run_grid(prices, idle, idle, [BacktestParams()])
    stats = grid_stats(result, prices, index, [BacktestParams()], periods_per_year=8766.0)
    one_bar, flat = stats.loc[(0, 0)], stats.loc[(1, 0)]
    assert (one_bar["bars"], one_bar["trades"], one_bar["total_return"]) == (1, 0, 0.0)
    assert np.isnan(one_bar["cagr"]) and np.isnan(one_bar["sharpe"])
    assert (flat["total_return"], flat["max_drawdown"], flat["avg_drawdown"]) == (0.0, 0.0, 0.0)
    assert flat["exposure"] == 0.0 and flat["cagr"] == 0.0 and flat["avg_monthly_return"] == 0.0
    assert np.isnan(flat["win_rate"]) and np.isnan(flat["profit_factor"])
    assert np.isnan(flat["sharpe"]) and np.isnan(flat["calmar"])


@pytest.mark.parametrize("case", ["hourly_utc", "daily_new_york_with_a_missing_month"])
def test_daily_equity_is_the_account_value_at_each_days_last_bar(case: str) -> None:
    frames = FRAMES[case]
    prices, index, result = grid(frames, seed=3)
    for segment, bars in enumerate(frames):
        daily = grid_daily_equity(result, prices, index, PARAMS, segment)
        offset = int(prices.bounds[segment])
        for column, params in enumerate(PARAMS):
            equity = account_equity(
                bars, cell_trades(result, segment * len(PARAMS) + column, offset), params
            )
            expected = equity.groupby(bars.index.normalize()).last()
            assert list(daily.index) == list(expected.index)
            np.testing.assert_allclose(daily[column].to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_grid_stats_need_one_time_per_bar() -> None:
    frames = [walk(8, 30, "h")]
    prices, index, result = grid(frames, seed=1)
    with pytest.raises(
        ValueError, match=r"index: expected a DatetimeIndex with one entry per bar \(30\)"
    ):
        grid_stats(result, prices, index[:-1], PARAMS)
