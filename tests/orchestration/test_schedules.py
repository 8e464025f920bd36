"""The daily connector schedule and its partitioned asset: yesterday's bars, landed once."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, build_schedule_context, materialize

sys.path.insert(0, str(Path(__file__).parents[1] / "warehouse" / "fixtures" / "connectors"))

from connector_replay import (  # noqa: E402
    FakeClock,
    point_ccxt_at,
    serve,
    yahoo_session,
)

from orchestration.assets.connectors import vendor_bars  # noqa: E402
from orchestration.definitions import defs  # noqa: E402
from orchestration.resources import WarehouseResource  # noqa: E402
from warehouse.connectors import registry  # noqa: E402
from warehouse.connectors.base import Pacer  # noqa: E402
from warehouse.connectors.ccxt_exchange import CcxtConnector  # noqa: E402
from warehouse.connectors.yahoo import YahooConnector  # noqa: E402
from warehouse.manifest import read_manifest  # noqa: E402
from warehouse.object_store import LocalObjectStore  # noqa: E402
from warehouse.settings import Settings  # noqa: E402

CONFIG = """\
connectors:
  - vendor: yahoo
    dataset: bars_1d
    symbols: [AAPL]
  - vendor: ccxt
    exchange: binance
    dataset: bars_1d
    symbols: [BTC/USDT]
"""


@pytest.fixture
def replayed(monkeypatch, tmp_path_factory):
    """The connector factory, sent to recorded Yahoo and Binance answers."""
    import yfinance
    from yfinance import data

    yfinance.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))
    data.YfData.cache_get.cache_clear()
    data.SingletonMeta._instances.pop(data.YfData, None)
    yahoo, binance = serve("yahoo_chart"), serve("binance_spot")

    def make_connector(vendor: str, dataset: str, *, exchange: str | None = None):
        clock = FakeClock()
        pacer = Pacer(clock=clock, sleep=clock.sleep)
        if vendor == "yahoo":
            return YahooConnector(dataset=dataset, session=yahoo_session(yahoo), pacer=pacer)
        connector = CcxtConnector(exchange_id=exchange, dataset=dataset, pacer=pacer)
        connector.exchange.enableRateLimit = False
        point_ccxt_at(binance, connector.exchange)
        return connector

    monkeypatch.setattr(registry, "make_connector", make_connector)
    yield yahoo, binance
    yahoo.close()
    binance.close()


def _home(tmp_path: Path, config: str | None = CONFIG) -> dict[str, object]:
    if config is not None:
        (tmp_path / "connectors.yaml").write_text(config)
    settings = Settings.from_env(home=tmp_path)
    return {"warehouse": WarehouseResource.from_settings(settings)}


def test_the_schedule_runs_the_connector_job_for_yesterdays_partition():
    schedule = defs.resolve_schedule_def("fetch_vendor_bars_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 0 * * *", "UTC")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2024, 1, 11, 0, 30, tzinfo=UTC)
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert [(r.job_name, r.partition_key) for r in requests] == [
        ("fetch_vendor_bars", "2024-01-10")
    ]
    job = defs.resolve_job_def("fetch_vendor_bars")
    assert job.asset_layer.asset_graph.executable_asset_keys == {AssetKey(["lake", "vendor_bars"])}


def test_the_main_job_and_the_demo_never_run_the_connectors():
    main = defs.resolve_job_def("main").asset_layer.asset_graph.executable_asset_keys
    assert AssetKey(["lake", "vendor_bars"]) not in main
    assert AssetKey(["lake", "raw_files"]) in main
    from orchestration.definitions import ASSETS

    assert vendor_bars not in ASSETS  # what `signalyard demo/build` materializes


def test_a_partition_lands_that_days_bars_of_every_configured_symbol(replayed, tmp_path):
    resources = _home(tmp_path)

    result = materialize([vendor_bars], partition_key="2024-01-02", resources=resources)

    assert result.success
    store = LocalObjectStore(tmp_path / "lake")
    entries = {e.key.rsplit("/", 1)[-1]: e for e in read_manifest(store)}
    assert sorted(entries) == ["AAPL_20240102_20240102.csv", "BTCUSDT_20240102_20240102.csv"]
    assert {(e.vendor, e.dataset) for e in entries.values()} == {
        ("yahoo", "bars_1d"),
        ("binance", "bars_1d"),
    }
    btc = pd.read_csv(io.BytesIO(store.get_bytes(entries["BTCUSDT_20240102_20240102.csv"].key)))
    assert btc[["symbol", "ts", "close"]].values.tolist() == [
        ["BTCUSDT", "2024-01-02T00:00:00Z", 44946.91]
    ]  # the 2024-01-03 candle Binance also sent belongs to the next partition
    [materialization] = result.asset_materializations_for_node("lake__vendor_bars")
    assert materialization.metadata["files_landed"].value == 2
    assert materialization.metadata["bars"].value == 2


def test_materializing_a_partition_again_lands_nothing_and_replaces_nothing(replayed, tmp_path):
    resources = _home(tmp_path)
    materialize([vendor_bars], partition_key="2024-01-02", resources=resources)
    store = LocalObjectStore(tmp_path / "lake")
    before = {k: store.get_bytes(k) for k in store.list("raw")}

    again = materialize([vendor_bars], partition_key="2024-01-02", resources=resources)

    [materialization] = again.asset_materializations_for_node("lake__vendor_bars")
    assert materialization.metadata["files_landed"].value == 0
    assert {k: store.get_bytes(k) for k in store.list("raw")} == before


def test_a_failing_symbol_fails_the_run_after_the_others_landed(replayed, tmp_path):
    config = CONFIG.replace("symbols: [BTC/USDT]", "symbols: [DOGE/USDT, BTC/USDT]")
    result = materialize(
        [vendor_bars],
        partition_key="2024-01-02",
        resources=_home(tmp_path, config),
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "binance bars_1d DOGE/USDT" in failure.message and "BadSymbol" in failure.message
    landed = {e.key.rsplit("/", 1)[-1] for e in read_manifest(LocalObjectStore(tmp_path / "lake"))}
    assert landed == {"AAPL_20240102_20240102.csv", "BTCUSDT_20240102_20240102.csv"}


def test_without_a_configuration_the_run_says_where_it_looked(tmp_path):
    result = materialize(
        [vendor_bars],
        partition_key="2024-01-02",
        resources=_home(tmp_path, config=None),
        raise_on_error=False,
    )
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert f"no connector configuration at {tmp_path / 'connectors.yaml'}" in error.message
