"""run_backtests: from the joined feature table to backtests.* tables in DuckDB."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from signals.backtest import backtest_signals, bar_returns
from signals.expressions import ExpressionError, parse_condition
from signals.pipeline import run_backtests
from signals.selection import PerformanceFilter, select_point_in_time
from signals.stats import STAT_NAMES, periods_per_year_of
from signals.strategy import Strategy, load_library
from warehouse.engines.duckdb import table_exists

SYMBOLS = ("AAA", "BBB")
BARS_PER_SYMBOL = 600  # 25 days of hourly bars: three weekly epochs
TABLE = "intermediate.int_bar_features_joined"
STATS = list(STAT_NAMES)
EXPECTED_COLUMNS = {
    "strategy_instances": [
        "strategy_id",
        "strategy_name",
        "timeframe",
        "direction",
        "entry_condition",
        "exit_condition",
        "stoploss",
        "take_profit",
        "position_weight",
        "fees",
        "slippage",
    ],
    "trades": [
        "trade_id",
        "strategy_id",
        "symbol",
        "entry_signal_ts",
        "entry_signal_available_at",
        "entry_signal_close",
        "entry_at",
        "entry_price",
        "exit_signal_ts",
        "exit_signal_available_at",
        "exit_at",
        "exit_price",
        "exit_reason",
        "trade_return",
        "bars_held",
    ],
    "stats": ["strategy_id", "symbol", *STATS, "passes_filter"],
    "selections": ["strategy_id", "symbol", "decided_at", *STATS, "is_selected"],
}


def features_for(symbol: str, seed: int, timeframe: str = "1h", n: int = BARS_PER_SYMBOL):
    """One symbol's bars with MACD (12/26/9) and CCI (20), NaN during the warm-up."""
    rng = np.random.default_rng(seed)
    step = pd.Timedelta(timeframe.replace("m", "min"))
    ts = pd.date_range("2024-01-01", periods=n, freq=step)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, n)))
    prices = pd.Series(close)
    macd = prices.ewm(span=12, adjust=False).mean() - prices.ewm(span=26, adjust=False).mean()
    signal = macd.ewm(span=9, adjust=False).mean()
    typical = pd.Series((high + low + close) / 3)
    mean = typical.rolling(20).mean()
    deviation = typical.rolling(20).apply(lambda w: np.abs(w - w.mean()).mean(), raw=True)
    macd[:25], signal[:33] = np.nan, np.nan
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": ts,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.integers(100, 1000, n).astype(float),
            "available_at": ts + step,
            "macd": macd.to_numpy(),
            "macdsignal": signal.to_numpy(),
            "cci": ((typical - mean) / (0.015 * deviation)).to_numpy(),
            "rsi_14": rng.uniform(0, 100, n),
        }
    )


@pytest.fixture
def features() -> pd.DataFrame:
    """Two symbols on 1h (rows shuffled), and a 5m symbol the 1h run must not touch."""
    frame = pd.concat(
        [
            features_for("AAA", seed=1),
            features_for("BBB", seed=2),
            features_for("CCC", seed=3, timeframe="5m", n=200),
        ],
        ignore_index=True,
    )
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture
def warehouse(conn: duckdb.DuckDBPyConnection, features: pd.DataFrame):
    """The in-memory warehouse holding the joined feature table."""
    conn.execute("create schema intermediate")
    conn.register("_features", features)
    conn.execute(f"create table {TABLE} as select * from _features")
    conn.unregister("_features")
    return conn


@pytest.fixture
def strategy() -> Strategy:
    macd_cci = next(s for s in load_library() if s.id == "macd_cci")
    return macd_cci.with_overrides(timeframes=("1h",))


def table(conn: duckdb.DuckDBPyConnection, name: str, order_by: str) -> pd.DataFrame:
    return conn.execute(f"select * from backtests.{name} order by {order_by}").fetchdf()


def bars_of(features: pd.DataFrame, symbol: str) -> pd.DataFrame:
    rows = features[(features["symbol"] == symbol) & (features["timeframe"] == "1h")]
    rows = rows.sort_values("ts")
    return rows.set_index(pd.DatetimeIndex(rows["ts"]))


def direct_backtest(strategy: Strategy, bars: pd.DataFrame):
    """What backtest_signals gives when called by hand on one symbol's bars."""
    return backtest_signals(
        bars,
        strategy.entry.evaluate(bars),
        strategy.exit.evaluate(bars),
        stoploss=strategy.stoploss,
        take_profit=strategy.take_profit,
        fees=strategy.fees,
        slippage=strategy.slippage,
        direction=strategy.direction,
        periods_per_year=periods_per_year_of(bars.index),
    )


def test_writes_the_four_backtest_tables_with_their_columns(warehouse, strategy) -> None:
    summary = run_backtests(warehouse, [strategy], PerformanceFilter())
    for name, columns in EXPECTED_COLUMNS.items():
        assert table_exists(warehouse, f"backtests.{name}"), name
        written = [r[0] for r in warehouse.execute(f"describe backtests.{name}").fetchall()]
        assert written == columns, name
    assert summary.trades == len(table(warehouse, "trades", "trade_id"))
    assert summary.stats == 2
    assert summary.selections == len(table(warehouse, "selections", "symbol"))


def test_one_instance_row_per_strategy_timeframe(warehouse, strategy) -> None:
    run_backtests(warehouse, [strategy], PerformanceFilter())
    instances = table(warehouse, "strategy_instances", "strategy_id")
    assert instances["strategy_id"].tolist() == ["macd_cci_1h"]
    row = instances.iloc[0]
    assert row["entry_condition"] == "macd > macdsignal and cci <= -50"
    assert row["exit_condition"] == "macd < macdsignal"
    assert (row["stoploss"], row["take_profit"]) == (-0.3, 0.04)


def test_only_the_strategy_timeframes_are_backtested(warehouse, strategy) -> None:
    run_backtests(warehouse, [strategy], PerformanceFilter())
    stats = table(warehouse, "stats", "symbol")
    assert stats["symbol"].tolist() == list(SYMBOLS)
    assert set(stats["strategy_id"]) == {"macd_cci_1h"}
    assert stats["bars"].tolist() == [BARS_PER_SYMBOL] * 2


def test_trade_ids_are_unique(warehouse, strategy) -> None:
    run_backtests(warehouse, [strategy], PerformanceFilter())
    trades = table(warehouse, "trades", "trade_id")
    assert len(trades) > 0
    assert trades["trade_id"].is_unique
    assert trades["trade_id"].notna().all()


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_trades_equal_a_direct_backtest_of_each_symbol(
    warehouse, strategy, features: pd.DataFrame, symbol: str
) -> None:
    run_backtests(warehouse, [strategy], PerformanceFilter())
    bars = bars_of(features, symbol)
    expected, _ = direct_backtest(strategy, bars)
    assert len(expected) >= 3, "the fixture should produce a few trades"
    written = warehouse.execute(
        "select * from backtests.trades where symbol = ? order by entry_signal_ts", [symbol]
    ).fetchdf()
    assert len(written) == len(expected)
    assert (written["strategy_id"] == "macd_cci_1h").all()
    pairs = {
        "entry_signal_ts": "entry_signal_time",
        "entry_at": "entry_time",
        "exit_signal_ts": "exit_signal_time",
        "exit_at": "exit_time",
    }
    for column, source in pairs.items():
        got = pd.to_datetime(written[column]).tolist()
        want = pd.to_datetime(expected[source]).tolist()
        assert [None if pd.isna(t) else t for t in got] == [
            None if pd.isna(t) else t for t in want
        ], column
    for column, source in {
        "entry_price": "entry_price",
        "exit_price": "exit_price",
        "trade_return": "return",
        "bars_held": "bars_held",
    }.items():
        np.testing.assert_allclose(
            written[column].to_numpy(dtype=float),
            expected[source].to_numpy(dtype=float),
            rtol=1e-12,
            err_msg=column,
        )
    assert written["exit_reason"].tolist() == expected["reason"].tolist()
    # the signal bar's close and its availability, looked up by position
    signal_rows = bars.iloc[expected["entry_signal_index"].to_numpy(dtype=int)]
    assert written["entry_signal_close"].tolist() == signal_rows["close"].tolist()
    assert (
        pd.to_datetime(written["entry_signal_available_at"]).tolist()
        == (pd.to_datetime(written["entry_signal_ts"]) + pd.Timedelta("1h")).tolist()
    )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_stats_and_selections_equal_a_direct_computation(
    warehouse, strategy, features: pd.DataFrame, symbol: str
) -> None:
    performance_filter = PerformanceFilter(min_trades=1)
    run_backtests(warehouse, [strategy], performance_filter)
    bars = bars_of(features, symbol)
    trades, stats = direct_backtest(strategy, bars)
    written = warehouse.execute(
        "select * from backtests.stats where symbol = ?", [symbol]
    ).fetchdf()
    assert len(written) == 1
    for name in STATS:
        assert written.loc[0, name] == pytest.approx(stats[name], rel=1e-12, nan_ok=True), name
    assert bool(written.loc[0, "passes_filter"]) == performance_filter.passes(stats)

    returns = bar_returns(trades, bars["close"].to_numpy(), 1, strategy.fees, strategy.slippage)
    expected = select_point_in_time(
        bars["available_at"],
        returns,
        trades,
        bars.index,
        performance_filter,
        periods_per_year_of(bars.index),
    )
    selections = warehouse.execute(
        "select * from backtests.selections where symbol = ? order by decided_at", [symbol]
    ).fetchdf()
    assert pd.to_datetime(selections["decided_at"]).tolist() == list(
        pd.to_datetime(["2024-01-08", "2024-01-15", "2024-01-22"])
    )
    assert selections["is_selected"].tolist() == expected["is_selected"].tolist()
    np.testing.assert_allclose(
        selections[STATS].to_numpy(dtype=float),
        expected[STATS].to_numpy(dtype=float),
        rtol=1e-12,
    )


def test_summary_lists_the_instances_that_pass(warehouse, strategy) -> None:
    summary = run_backtests(
        warehouse,
        [strategy],
        PerformanceFilter(
            min_trades=0,
            min_win_rate=0.0,
            min_profit_factor=0.0,
            min_total_return=-1.0,
            min_sharpe=-np.inf,
            min_max_drawdown=-1.0,
        ),
    )
    assert summary.passed == (("macd_cci_1h", "AAA"), ("macd_cci_1h", "BBB"))
    nothing = run_backtests(warehouse, [strategy], PerformanceFilter(min_trades=10_000))
    assert nothing.passed == ()
    assert not table(warehouse, "stats", "symbol")["passes_filter"].any()


def test_rerunning_replaces_rather_than_appends(warehouse, strategy) -> None:
    first = run_backtests(warehouse, [strategy], PerformanceFilter())
    before = {name: table(warehouse, name, "all") for name in EXPECTED_COLUMNS}
    second = run_backtests(warehouse, [strategy], PerformanceFilter())
    assert second == first
    for name, frame in before.items():
        pd.testing.assert_frame_equal(table(warehouse, name, "all"), frame, check_like=False)


def test_a_rerun_with_other_strategies_drops_the_old_rows(warehouse, strategy) -> None:
    run_backtests(warehouse, [strategy], PerformanceFilter())
    renamed = strategy.with_overrides(id="macd_cci_tight", stoploss=-0.05)
    run_backtests(warehouse, [renamed], PerformanceFilter())
    for name in EXPECTED_COLUMNS:
        ids = warehouse.execute(f"select distinct strategy_id from backtests.{name}").fetchall()
        assert ids == [("macd_cci_tight_1h",)], name


def test_an_unknown_column_is_named_before_anything_is_written(warehouse, strategy) -> None:
    broken = strategy.with_overrides(exit=parse_condition("macd < macd_signal_line"))
    with pytest.raises(ExpressionError, match="macd_signal_line"):
        run_backtests(warehouse, [strategy, broken], PerformanceFilter())
    for name in EXPECTED_COLUMNS:
        assert not table_exists(warehouse, f"backtests.{name}"), name


def test_a_failed_run_leaves_the_previous_results_in_place(warehouse, strategy) -> None:
    run_backtests(warehouse, [strategy], PerformanceFilter())
    before = table(warehouse, "trades", "trade_id")
    broken = strategy.with_overrides(entry=parse_condition("rsi_99 < 30"))
    with pytest.raises(ExpressionError, match=r"\['rsi_99'\]"):
        run_backtests(warehouse, [broken], PerformanceFilter())
    pd.testing.assert_frame_equal(table(warehouse, "trades", "trade_id"), before)


def test_a_strategy_reading_other_feature_columns_runs(warehouse) -> None:
    rsi = Strategy(
        id="rsi_band",
        description="",
        timeframes=("1h",),
        entry=parse_condition("rsi_14 < 10"),
        exit=parse_condition("rsi_14 > 90"),
    )
    summary = run_backtests(warehouse, [rsi], PerformanceFilter())
    assert summary.stats == 2
    assert summary.trades > 0
