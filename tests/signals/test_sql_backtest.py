"""The SQL back end agrees trade for trade with backtest_signals, and runs from dbt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from signals.backtest import backtest_signals
from signals.kernel import REASONS
from signals.sql_backtest import (
    compile_backtest_sql,
    dbt_model_name,
    run_sql_backtest,
    write_dbt_models,
)
from signals.strategy import Strategy, load_library, strategy_from_dict
from udfs import compute_features
from warehouse.engines.duckdb import connect
from warehouse.settings import DBT_PROJECT_DIR

TABLE = "intermediate.int_bar_features_joined"
INDICES = ["entry_signal_index", "entry_index", "exit_signal_index", "exit_index"]
TIMES = {
    "entry_signal_time": "entry_signal_ts",
    "entry_time": "entry_at",
    "exit_signal_time": "exit_signal_ts",
    "exit_time": "exit_at",
}
NUMBERS = {"entry_price": "entry_price", "exit_price": "exit_price", "return": "trade_return"}


def random_walk(symbol: str, seed: int, n: int, timeframe: str = "1h") -> pd.DataFrame:
    """OHLCV bars of a random walk with opening gaps (so gap fills happen)."""
    rng = np.random.default_rng(seed)
    step = pd.Timedelta(timeframe.replace("m", "min"))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.004, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": pd.date_range("2024-01-01", periods=n, freq=step, tz="UTC"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.lognormal(6, 0.5, n),
        }
    )


def with_random_features(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Random features f, g, h with NaN warm-ups and gaps."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(bars), 3))
    values[:12, 0], values[:5, 1] = np.nan, np.nan
    values[rng.random(values.shape) < 0.02] = np.nan
    return bars.assign(f=values[:, 0], g=values[:, 1], h=values[:, 2])


def make_warehouse(frame: pd.DataFrame):  # noqa: ANN201 - a DuckDB connection
    conn = connect(":memory:")
    conn.execute("create schema intermediate")
    conn.register("_features", frame.sample(frac=1.0, random_state=0))  # row order is no clue
    conn.execute(f"create table {TABLE} as select * from _features")
    conn.unregister("_features")
    return conn


@pytest.fixture(scope="module")
def random_data() -> pd.DataFrame:
    """Three 1h series of different lengths, a 2-bar series, and a 5m series to be ignored."""
    parts = [
        with_random_features(random_walk("AAA", 1, 700), 11),
        with_random_features(random_walk("BBB", 2, 450), 12),
        with_random_features(random_walk("CCC", 3, 2), 13),
        with_random_features(random_walk("AAA", 4, 300, timeframe="5m"), 14),
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def random_conn(random_data: pd.DataFrame):
    conn = make_warehouse(random_data)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def library_data() -> pd.DataFrame:
    """Two random walks with every registered feature computed (as the warehouse has them)."""
    parts = []
    for symbol, seed in (("AAA", 21), ("BBB", 22)):
        bars = random_walk(symbol, seed, 1500)
        features = compute_features(
            bars.set_index("ts")[["open", "high", "low", "close", "volume"]]
        )
        parts.append(pd.concat([bars, features.reset_index(drop=True)], axis=1))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def library_conn(library_data: pd.DataFrame):
    conn = make_warehouse(library_data)
    yield conn
    conn.close()


def kernel_trades(
    strategy: Strategy, data: pd.DataFrame, timeframe: str
) -> dict[str, pd.DataFrame]:
    """backtest_signals on each symbol's bars, as the pipeline calls it."""
    out = {}
    rows = data[data["timeframe"] == timeframe]
    for symbol, bars in rows.groupby("symbol"):
        bars = bars.sort_values("ts").set_index("ts", drop=False)
        trades, _ = backtest_signals(
            bars,
            strategy.entry.evaluate(bars),
            strategy.exit.evaluate(bars),
            stoploss=strategy.stoploss,
            take_profit=strategy.take_profit,
            fees=strategy.fees,
            slippage=strategy.slippage,
            direction=strategy.direction,
            **strategy.backtest_options(timeframe),
        )
        out[symbol] = trades
    return out


def assert_same_trades(sql: pd.DataFrame, kernel: dict[str, pd.DataFrame]) -> int:
    """Trade for trade: indices, times, reason, prices and return within 1e-9; returns count."""
    assert set(sql["symbol"]) <= set(kernel)
    for symbol, expected in kernel.items():
        got = sql[sql["symbol"] == symbol].reset_index(drop=True)
        assert len(got) == len(expected), symbol
        for column in INDICES:
            want = expected[column].astype("float64").fillna(-1).to_numpy()
            have = got[column].astype("float64").fillna(-1).to_numpy()
            np.testing.assert_array_equal(have, want, err_msg=f"{symbol} {column}")
        assert got["exit_reason"].tolist() == expected["reason"].tolist(), symbol
        for kernel_column, sql_column in TIMES.items():
            want = pd.to_datetime(expected[kernel_column], utc=True)
            have = pd.to_datetime(got[sql_column], utc=True)
            assert have.equals(want) or (have.isna().all() and want.isna().all()), sql_column
        for kernel_column, sql_column in NUMBERS.items():
            want = expected[kernel_column].to_numpy(dtype="float64")
            have = got[sql_column].to_numpy(dtype="float64")
            np.testing.assert_allclose(have, want, rtol=0, atol=1e-9, err_msg=sql_column)
        np.testing.assert_array_equal(
            got["bars_held"].astype("float64").to_numpy(),
            expected["bars_held"].astype("float64").to_numpy(),
        )
    return len(sql)


CASES: dict[str, dict[str, Any]] = {
    "long-signals-only": {"direction": "long"},
    "short-signals-only": {"direction": "short"},
    "long-stop-and-target": {"direction": "long", "stoploss": -0.012, "take_profit": 0.015},
    "short-stop-and-target-with-costs": {
        "direction": "short",
        "stoploss": -0.012,
        "take_profit": 0.015,
        "fees": 0.001,
        "slippage": 0.0005,
    },
    "long-stop-only": {"direction": "long", "stoploss": -0.008},
    "short-target-only": {"direction": "short", "take_profit": 0.01},
    "long-trailing-with-offset-and-stop": {
        "direction": "long",
        "stoploss": -0.02,
        "trailing_stop": {"fraction": 0.01, "offset": 0.005},
    },
    "short-trailing-only": {"direction": "short", "trailing_stop": 0.012, "fees": 0.0007},
    "long-minimal-roi": {"direction": "long", "minimal_roi": {0: 0.02, 180: 0.008, "8 bars": 0}},
    "short-roi-and-target": {
        "direction": "short",
        "take_profit": 0.02,
        "minimal_roi": {"2 bars": 0.01, "6 bars": -0.004},
        "slippage": 0.001,
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_sql_agrees_trade_for_trade_with_the_kernel_on_random_features(
    case: str, random_data: pd.DataFrame, random_conn
) -> None:
    strategy = strategy_from_dict(
        {
            "id": "random",
            "timeframes": ["1h"],
            "entry": "crosses_above(f, g) or f > 1.6",
            "exit": "f < g[1] - 0.4 or h > 1.8",
            **CASES[case],
        }
    )
    sql = run_sql_backtest(random_conn, strategy, "1h")
    kernel = kernel_trades(strategy, random_data, "1h")
    assert assert_same_trades(sql, kernel) > 100
    assert set(sql["timeframe"]) == {"1h"} and set(sql["strategy_id"]) == {"random_1h"}


def test_the_random_cases_exercise_every_exit_reason(random_data: pd.DataFrame) -> None:
    seen = set()
    for spec in CASES.values():
        strategy = strategy_from_dict(
            {
                "id": "random",
                "timeframes": ["1h"],
                "entry": "crosses_above(f, g) or f > 1.6",
                "exit": "f < g[1] - 0.4 or h > 1.8",
                **spec,
            }
        )
        for trades in kernel_trades(strategy, random_data, "1h").values():
            seen |= set(trades["reason"])
    assert seen >= set(REASONS) - {"pending"}


def scenario() -> pd.DataFrame:
    """Hand-made bars: both levels in one bar, a gap through the stop, re-entries."""
    rows = [  # open, high, low, close, go, leave
        (100, 101, 99, 100, 1, 0),  # 0 entry signal
        (100, 105, 95, 100, 0, 0),  # 1 fill at 100; stop 90, target 110
        (100, 111, 89, 100, 1, 0),  # 2 both touched: stop first at 90; this entry is ignored
        (100, 100, 100, 100, 1, 0),  # 3 entry signal
        (80, 81, 79, 80, 0, 1),  # 4 fill at 80; exit signal
        (85, 86, 84, 85, 1, 0),  # 5 exit at the open 85; entry signal on the same bar counts
        (90, 92, 85, 88, 0, 0),  # 6 fill at 90; stop 81
        (75, 76, 70, 72, 1, 0),  # 7 gaps through the stop: fill at the open 75; entry ignored
        (72, 73, 71, 72, 1, 0),  # 8 entry signal
        (72, 73, 71, 72, 0, 1),  # 9 fill at 72; exit signal on the last bar: still open
    ]
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close", "go", "leave"]).astype(
        float
    )
    ts = pd.date_range("2024-03-01", periods=len(frame), freq="h", tz="UTC")
    pending = frame.iloc[:3].assign(go=[0.0, 0.0, 1.0], leave=0.0)  # a last-bar entry
    return pd.concat(
        [
            frame.assign(symbol="HAND", timeframe="1h", ts=ts),
            pending.assign(symbol="PEND", timeframe="1h", ts=ts[:3]),
        ],
        ignore_index=True,
    )


def test_a_hand_made_scenario_gives_the_stated_trades_in_sql_and_in_the_kernel() -> None:
    data = scenario()
    strategy = strategy_from_dict(
        {
            "id": "hand",
            "timeframes": ["1h"],
            "entry": "go > 0.5",
            "exit": "leave > 0.5",
            "stoploss": -0.1,
            "take_profit": 0.1,
        }
    )
    with make_warehouse(data) as conn:
        sql = run_sql_backtest(conn, strategy, "1h")
    assert_same_trades(sql, kernel_trades(strategy, data, "1h"))
    hand = sql[sql["symbol"] == "HAND"]
    assert hand[INDICES].astype("float64").fillna(-1).values.tolist() == [
        [0, 1, 2, 2],
        [3, 4, 4, 5],
        [5, 6, 7, 7],
        [8, 9, 9, -1],
    ]
    assert hand["exit_reason"].tolist() == ["stop_loss", "exit_signal", "stop_loss", "open"]
    assert hand["exit_price"].tolist()[:3] == pytest.approx([90.0, 85.0, 75.0])
    assert hand["trade_return"].tolist()[:3] == pytest.approx([-0.1, 85 / 80 - 1, 75 / 90 - 1])
    pend = sql[sql["symbol"] == "PEND"]
    assert pend["exit_reason"].tolist() == ["pending"]
    assert pend["entry_signal_index"].tolist() == [2] and pend["entry_index"].isna().all()


LIBRARY = {s.id: s for s in load_library()}


@pytest.mark.parametrize("strategy_id", sorted(LIBRARY))
def test_every_library_strategy_agrees_trade_for_trade_on_computed_features(
    strategy_id: str, library_data: pd.DataFrame, library_conn
) -> None:
    strategy = LIBRARY[strategy_id].with_overrides(timeframes=("1h",))
    sql = run_sql_backtest(library_conn, strategy, "1h")
    assert assert_same_trades(sql, kernel_trades(strategy, library_data, "1h")) > 0


@pytest.mark.parametrize(
    "strategy_id", ["donchian_breakout", "rsi_overbought_short", "keltner_breakout"]
)
def test_sampled_parameter_sets_agree_trade_for_trade(
    strategy_id: str, library_data: pd.DataFrame, library_conn
) -> None:
    base = LIBRARY[strategy_id].with_overrides(timeframes=("1h",))
    for values in base.sample_parameters(2, seed=5):
        strategy = base.with_parameters(**values)
        sql = run_sql_backtest(library_conn, strategy, "1h")
        assert set(sql["strategy_id"]) <= {strategy.instance_id("1h")}
        assert_same_trades(sql, kernel_trades(strategy, library_data, "1h"))


def test_a_timeframe_the_strategy_does_not_declare_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"timeframe '4h' not in \('5m', '1h'\)"):
        compile_backtest_sql(LIBRARY["macd_cci"], "4h")


def test_a_strategy_that_never_enters_gives_an_empty_trade_list(random_conn) -> None:
    strategy = strategy_from_dict(
        {"id": "never", "timeframes": ["1h"], "entry": "f > 100", "exit": "f < -100"}
    )
    sql = run_sql_backtest(random_conn, strategy, "1h")
    assert sql.empty and "trade_return" in sql.columns


def test_the_generator_writes_one_model_per_instance_and_their_yaml(tmp_path: Path) -> None:
    written = write_dbt_models(load_library(), tmp_path)
    count = sum(len(s.timeframes) for s in load_library())
    assert len(written) == count + 1  # one model per instance, and their YAML
    again = write_dbt_models(load_library(), tmp_path)
    assert again == written  # regenerating is stable


def test_the_generator_removes_models_of_strategies_that_are_gone(tmp_path: Path) -> None:
    write_dbt_models(load_library(), tmp_path)
    only = [LIBRARY["macd_cci"]]
    write_dbt_models(only, tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.sql")) == [
        dbt_model_name(only[0], "1h"),
        dbt_model_name(only[0], "5m"),
    ]


@pytest.mark.slow
def test_dbt_runs_a_generated_model_and_gets_the_same_trades(tmp_path: Path, random_data) -> None:
    """A scratch dbt project: the real config and macros, a stand-in feature model."""
    project = tmp_path / "project"
    (project / "models" / "intermediate").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml", "macros/generate_schema_name.sql"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DBT_PROJECT_DIR / name, project / name)
    (project / "tests" / "generic").mkdir(parents=True)
    shutil.copy(
        DBT_PROJECT_DIR / "tests" / "generic" / "unique_combination_of_columns.sql",
        project / "tests" / "generic",
    )
    (project / "models" / "intermediate" / "int_bar_features_joined.sql").write_text(
        "select * from main.features_input\n"
    )
    strategy = strategy_from_dict(
        {
            "id": "dbt_check",
            "timeframes": ["1h"],
            "entry": "crosses_above(f, g)",
            "exit": "f < g[1] - 0.4",
            "direction": "short",
            "stoploss": -0.012,
            "take_profit": 0.015,
        }
    )
    write_dbt_models([strategy], project / "models" / "marts" / "backtests_sql")
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as conn:
        conn.register("_features", random_data)
        conn.execute("create table main.features_input as select * from _features")
    model = dbt_model_name(strategy, "1h")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--select",
            f"+{model}",
            "--vars",
            f"{{sql_backtests: true, duckdb_path: '{warehouse}'}}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    with connect(warehouse, read_only=True) as conn:
        from_dbt = conn.execute(f"select * from marts.{model}").fetchdf()
        direct = run_sql_backtest(conn, strategy, "1h", source="main.features_input")
    from_dbt = from_dbt.sort_values(["symbol", "entry_signal_index"], ignore_index=True)
    pd.testing.assert_frame_equal(from_dbt, direct)
    assert_same_trades(from_dbt, kernel_trades(strategy, random_data, "1h"))
