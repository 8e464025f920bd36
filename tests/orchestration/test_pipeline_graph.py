"""The whole asset graph on the sample data: every layer fills, checks pass, contracts hold."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.summary import table_rows
from warehouse.columns import SIGNAL_ORDERS_COLUMNS, SIGNAL_WEIGHTS_COLUMNS
from warehouse.engines.duckdb import connect

pytestmark = pytest.mark.slow


def _query(settings, sql: str) -> pd.DataFrame:
    with connect(settings.duckdb_path, read_only=True) as conn:
        return conn.sql(sql).df()


def test_every_layer_of_the_flow_has_rows(demo_settings):
    with connect(demo_settings.duckdb_path, read_only=True) as conn:
        rows = table_rows(conn)
    for table in (
        "raw.bars_1m",
        "raw.bars_1d",
        "raw.short_interest",
        "staging.stg_raw__bars_1m",
        "intermediate.int_bars_resampled",
        "features.udf_features",
        "intermediate.int_bar_features_joined",
        "backtests.trades",
        "marts.fct_trades",
        "marts.fct_backtest_stats",
        "marts.fct_strategy_selections",
        "signals.signal_weights",
        "signals.signal_orders",
    ):
        assert rows[table] > 0, table


def test_intraday_bars_are_resampled_to_every_timeframe_and_daily_bars_kept(demo_settings):
    frame = _query(
        demo_settings,
        "select symbol, timeframe, count(*) as n from intermediate.int_bars_resampled group by all",
    )
    crypto = frame[frame["symbol"] == "BTCUSDT"].set_index("timeframe")["n"]
    assert set(crypto.index) == {"1m", "5m", "15m", "1h", "4h", "1d"}
    assert crypto["1d"] == 42 and crypto["4h"] == 42 * 6 and crypto["1h"] == 42 * 24
    stocks = frame[frame["symbol"] == "IBM"]
    assert list(stocks["timeframe"]) == ["1d"]


def test_every_dbt_test_and_asset_check_passed(demo_build):
    _, result = demo_build
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 30  # dbt tests surface as asset checks
    failed = [e.check_name for e in evaluations if not e.passed]
    assert failed == []


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("signals.signal_weights", SIGNAL_WEIGHTS_COLUMNS),
        ("signals.signal_orders", SIGNAL_ORDERS_COLUMNS),
    ],
)
def test_signal_tables_have_exactly_the_contract_columns(demo_settings, table, columns):
    frame = _query(demo_settings, f"describe {table}")
    assert tuple(frame["column_name"]) == columns
    types = dict(zip(frame["column_name"], frame["column_type"], strict=True))
    assert types["signal_timestamp"] == "TIMESTAMP" and types["timestamp"] == "TIMESTAMP"
    assert types["symbol"] == "VARCHAR" and types["strategy_id"] == "VARCHAR"
    if table.endswith("weights"):
        assert types["signal"] == "DOUBLE"
    else:
        assert types["position_status"] == "BOOLEAN"
        assert {types[c] for c in ("entry_price", "stop_loss", "take_profit")} == {"DOUBLE"}


def test_no_signal_row_is_published_before_its_bar_was_available(demo_settings):
    late = _query(
        demo_settings,
        """
        select w.*, b.available_at
        from signals.signal_weights w
        join backtests.strategy_instances i using (strategy_id)
        join intermediate.int_bars_resampled b
          on b.symbol = w.symbol and b.timeframe = i.timeframe and b.ts = w.timestamp
        where w.signal_timestamp < b.available_at
    """,
    )
    assert late.empty
    total = _query(demo_settings, "select count(*) as n from signals.signal_weights")
    assert total["n"][0] > 0


def test_only_selected_instances_emit_and_every_exit_follows_an_entry(demo_settings):
    events = _query(
        demo_settings,
        """
        select strategy_id, symbol, timestamp, signal from signals.signal_weights
        where strategy_id in (select strategy_id from backtests.strategy_instances)
        order by strategy_id, symbol, signal_timestamp
    """,
    )
    for _, group in events.groupby(["strategy_id", "symbol"]):
        signals = list(group["signal"])
        # entries (weight > 0) and exits (0) alternate, starting with an entry
        assert all((s > 0) == (i % 2 == 0) for i, s in enumerate(signals))
    never_selected = _query(
        demo_settings,
        """
        select strategy_id, symbol from marts.fct_strategy_selections
        group by all having not bool_or(is_selected)
    """,
    )
    emitted = set(map(tuple, events[["strategy_id", "symbol"]].drop_duplicates().to_numpy()))
    assert emitted.isdisjoint(set(map(tuple, never_selected.to_numpy())))


def test_short_interest_reaches_daily_features_only_after_publication(demo_settings):
    frame = _query(
        demo_settings,
        """
        select f.symbol, f.ts, f.available_at, s.publication_date
        from intermediate.int_daily_bars_short_interest_joined f
        join staging.stg_raw__short_interest s
          on s.symbol = f.symbol and s.settlement_date = f.short_interest_settlement_date
    """,
    )
    assert len(frame) > 10_000
    published = pd.to_datetime(frame["publication_date"]) + pd.Timedelta(hours=22)
    assert (published <= frame["available_at"]).all()


def test_lean_workspace_holds_the_signal_csvs_and_the_algorithm(demo_settings):
    workspace = demo_settings.lean_workspace
    assert (workspace / "lean.json").is_file()
    assert (workspace / "SignalWeights" / "main.py").is_file()
    assert (workspace / "SignalWeights" / "signal_data.py").is_file()
    files = sorted((workspace / "data" / "custom" / "signal_weights").rglob("weights/*.csv"))
    exported = sum(len(f.read_text().splitlines()) - 1 for f in files)
    rows = _query(demo_settings, "select count(*) as n from signals.signal_weights")["n"][0]
    assert files and exported == rows


def test_the_report_lists_every_backtested_cell(demo_settings):
    page = (demo_settings.reports_dir / "report.html").read_text()
    stats = _query(demo_settings, "select strategy_id, symbol from marts.fct_backtest_stats")
    assert "<h1>signalyard run report</h1>" in page
    for strategy_id, symbol in stats.itertuples(index=False):
        assert strategy_id in page and symbol in page


def test_the_declared_portfolio_is_published_beside_the_strategy_rows(demo_settings):
    published = _query(
        demo_settings,
        "select * from signals.signal_weights where strategy_id = 'portfolio_main' order by all",
    )
    targets = _query(demo_settings, "select * from backtests.portfolio_targets order by all")
    assert len(published) > 0
    pd.testing.assert_frame_equal(published, targets[list(published.columns)])
    assert published["signal"].between(0, 1).all()  # the demo's candidates are long-only
    exported = demo_settings.lean_workspace / "storage" / "custom" / "signal_weights"
    assert (exported / "portfolio_main").is_dir()
