"""The bundled strategy library: valid against the registered features, tunable, demo-light."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import materialize

from orchestration.assets.backtests import backtest_tables
from orchestration.resources import WarehouseResource
from signals.pipeline import FEATURES_TABLE
from signals.strategy import LIBRARY_DIR, Strategy, load_library
from udfs import compute_features, output_columns
from warehouse.columns import OHLCV
from warehouse.engines.duckdb import connect

LIBRARY = load_library()
IDS = [s.id for s in LIBRARY]


def by_id(strategy_id: str) -> Strategy:
    return next(s for s in LIBRARY if s.id == strategy_id)


def random_walk_features(n: int = 2000, seed: int = 9) -> pd.DataFrame:
    """Hourly random-walk bars with every registered feature computed."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n))),
            "low": np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n))),
            "close": close,
            "volume": rng.lognormal(6, 0.5, n),
        },
        index=pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
    )
    return bars.join(compute_features(bars)).copy()  # one block, not fragmented


@pytest.fixture(scope="module")
def walks() -> list[pd.DataFrame]:
    """Three random walks, so that trend filters meet both regimes."""
    return [random_walk_features(seed=seed) for seed in (9, 10, 11)]


def test_the_library_holds_at_least_twenty_strategies_with_unique_ids_named_after_their_files() -> (
    None
):
    assert len(LIBRARY) >= 20
    assert len(set(IDS)) == len(IDS)
    assert sorted(IDS) == sorted(p.stem for p in LIBRARY_DIR.glob("*.yaml"))
    assert {s.direction for s in LIBRARY} == {"long", "short"}


@pytest.mark.parametrize("strategy_id", IDS)
def test_every_strategy_reads_only_registered_feature_outputs_and_bar_columns(
    strategy_id: str,
) -> None:
    """Checked against whatever the feature registry holds when the test runs."""
    by_id(strategy_id).check_columns([*output_columns(), *OHLCV])


@pytest.mark.parametrize("strategy_id", IDS)
def test_every_strategy_has_a_one_line_description_a_stoploss_and_costs(strategy_id: str) -> None:
    strategy = by_id(strategy_id)
    assert strategy.description and "\n" not in strategy.description
    assert strategy.description.endswith(".") and len(strategy.description) <= 160
    assert strategy.stoploss is not None and -0.3 <= strategy.stoploss < 0
    assert strategy.fees > 0 and strategy.slippage > 0


@pytest.mark.parametrize("strategy_id", [s.id for s in LIBRARY if s.parameters])
def test_every_parameter_has_a_grid_and_every_grid_point_is_a_valid_strategy(
    strategy_id: str,
) -> None:
    strategy = by_id(strategy_id)
    grid = strategy.parameter_grid()
    assert len(grid) >= 3
    defaults = {p.name: p.default for p in strategy.parameters}
    assert defaults in grid, "the default should be a grid point"
    instance_ids = {strategy.with_parameters(**values).instance_id("1h") for values in grid}
    assert len(instance_ids) == len(grid)


@pytest.mark.parametrize("strategy_id", IDS)
def test_every_strategy_enters_and_exits_on_random_walks(
    strategy_id: str, walks: list[pd.DataFrame]
) -> None:
    """Catches conditions that can never hold (a wrong scale, an impossible threshold)."""
    strategy = by_id(strategy_id)
    assert sum(strategy.entry.evaluate(f).sum() for f in walks) >= 3
    assert sum(strategy.exit.evaluate(f).sum() for f in walks) >= 3


def test_only_the_demo_strategy_runs_in_the_demo() -> None:
    assert [s.id for s in LIBRARY if s.demo] == ["macd_cci"]


def materialize_backtests(tmp_path: Path, frame: pd.DataFrame, **config: object) -> list[str]:
    """Run the Dagster backtest asset on a scratch warehouse; the instance ids it wrote."""
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as conn:
        conn.execute("create schema if not exists intermediate")
        conn.register("_features", frame)
        conn.execute(f"create or replace table {FEATURES_TABLE} as select * from _features")
    warehouse = WarehouseResource(
        home=str(tmp_path), lake=str(tmp_path / "lake"), duckdb_path=str(path)
    )
    result = materialize(
        [backtest_tables],
        resources={"warehouse": warehouse},
        run_config={"ops": {"backtest_tables": {"config": config}}},
    )
    assert result.success
    with connect(path, read_only=True) as conn:
        rows = conn.execute("select strategy_id from backtests.strategy_instances order by 1")
        return [r[0] for r in rows.fetchall()]


def test_the_backtest_asset_runs_the_demo_strategies_unless_asked_for_all(
    tmp_path: Path, walks: list[pd.DataFrame]
) -> None:
    frame = walks[0].iloc[:400].rename_axis("ts").reset_index()
    frame = frame.assign(
        symbol="AAA", timeframe="1h", available_at=frame["ts"] + pd.Timedelta("1h")
    )
    assert materialize_backtests(tmp_path / "demo", frame) == ["macd_cci_1h", "macd_cci_5m"]
    everything = materialize_backtests(tmp_path / "all", frame, all_strategies=True)
    assert everything == sorted(s.instance_id(tf) for s in LIBRARY for tf in s.timeframes)


def test_the_docs_library_table_lists_every_strategy() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "strategies.md").read_text()
    table = {
        line.split("|")[1].strip().split()[0].strip("`")
        for line in docs.splitlines()
        if line.startswith("| `")
    }
    assert set(IDS) <= table, "regenerate the table in docs/strategies.md"
