"""The ccxt connector against recorded Binance REST answers: paging, pacing, rate limits."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "connectors"))

from connector_replay import FakeClock, point_ccxt_at, serve  # noqa: E402

from warehouse.connectors.backfill import backfill  # noqa: E402
from warehouse.connectors.base import ConnectorError, Pacer  # noqa: E402
from warehouse.connectors.ccxt_exchange import CcxtConnector  # noqa: E402
from warehouse.connectors.checkpoint import read_checkpoint  # noqa: E402
from warehouse.manifest import read_manifest  # noqa: E402
from warehouse.object_store import LocalObjectStore  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
LATER = datetime(2024, 1, 2, tzinfo=UTC)


def _replayed(server, clock: FakeClock, **pacing: float) -> CcxtConnector:
    connector = CcxtConnector(page_size=4)
    # Production pacing (the exchange's rateLimit), on a fake clock.
    connector.pacer = Pacer(
        min_interval=connector.pacer.min_interval, clock=clock, sleep=clock.sleep, **pacing
    )
    connector.exchange.enableRateLimit = False  # ccxt's own throttle would really sleep
    point_ccxt_at(server, connector.exchange)
    return connector


def test_the_exchange_is_created_with_ccxts_rate_limit_and_paced_at_its_rate():
    connector = CcxtConnector()
    assert connector.vendor == "binance"
    assert connector.exchange.enableRateLimit is True
    assert connector.pacer.min_interval == connector.exchange.rateLimit / 1000 == 0.05


def test_pages_follow_since_and_each_request_is_paced():
    server, clock = serve("binance_spot"), FakeClock()
    try:
        pages = list(_replayed(server, clock).fetch("BTC/USDT", START, END))
    finally:
        server.close()

    klines = [r["query"] for r in server.requests if r["path"] == "/api/v3/klines"]
    assert [(q["startTime"], q["limit"]) for q in klines] == [
        ("1704067200000", "4"),
        ("1704067440000", "4"),
        ("1704067680000", "4"),
    ]
    assert [len(p) for p in pages] == [4, 4, 4]
    # No wait before the first request; 50 ms (binance's rateLimit) before the others.
    assert clock.sleeps == [0.05, 0.05]


def test_candles_become_utc_bars_of_the_lake_symbol():
    server = serve("binance_spot")
    try:
        page = next(_replayed(server, FakeClock()).fetch("ETH/USDT", START, END))
    finally:
        server.close()
    assert page["symbol"].unique().tolist() == ["ETHUSDT"]
    assert page["ts"].iloc[0] == pd.Timestamp("2024-01-01T00:00:00Z")
    assert str(page["ts"].dt.tz) == "UTC"
    assert page["volume"].dtype == "float64"
    assert page.columns.tolist() == ["symbol", "ts", "open", "high", "low", "close", "volume"]


def test_a_429_is_retried_after_backoff_and_the_backfill_completes(tmp_path, caplog):
    server, clock = serve("binance_throttled", "binance_spot"), FakeClock()
    store = LocalObjectStore(tmp_path / "lake")
    try:
        connector = _replayed(server, clock, backoff=2.0)
        result = backfill(connector, store, "BTC/USDT", START, END, now=LATER)
    finally:
        server.close()
    assert result.bars == 10 and result.pages == 3
    assert [r["query"]["startTime"] for r in server.requests if "klines" in r["path"]][:2] == [
        "1704067200000",
        "1704067200000",
    ]
    assert clock.sleeps == [2.0, 0.05, 0.05]  # backoff, then the normal pacing
    assert "transient DDoSProtection, retry 1 of 4 in 2.0s" in caplog.text


def test_retries_run_out_with_an_error_naming_the_request_and_nothing_advances(tmp_path):
    server, clock = serve("binance_throttled", "binance_spot"), FakeClock()
    server.interactions[0].times = None  # Binance keeps answering 429
    store = LocalObjectStore(tmp_path / "lake")
    try:
        with pytest.raises(ConnectorError, match=r"binance BTC/USDT 1m since 2024-01-01T00:00Z"):
            backfill(_replayed(server, clock, retries=2), store, "BTC/USDT", START, END, now=LATER)
    finally:
        server.close()
    assert clock.sleeps == [1.0, 2.0]
    assert read_manifest(store) == []
    assert read_checkpoint(store, "binance", "bars_1m", "BTCUSDT").covered == ()


@pytest.mark.parametrize(
    ("unified", "lake"),
    [("BTC/USDT", "BTCUSDT"), ("eth/usdt", "ETHUSDT"), ("BTC/USDT:USDT", "BTCUSDT-USDT")],
)
def test_unified_symbols_map_to_lake_symbols(unified, lake):
    assert CcxtConnector().lake_symbol(unified) == lake


def test_an_unknown_exchange_id_is_refused():
    with pytest.raises(ValueError, match="unknown ccxt exchange id 'nasdaq'"):
        CcxtConnector(exchange_id="nasdaq")
