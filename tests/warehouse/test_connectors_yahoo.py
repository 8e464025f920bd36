"""The Yahoo connector: yfinance's own curl_cffi session, replaying Yahoo's v8 chart JSON."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "connectors"))

from connector_replay import FakeClock, serve, yahoo_session  # noqa: E402

from warehouse.connectors.backfill import backfill  # noqa: E402
from warehouse.connectors.base import ConnectorError, Pacer  # noqa: E402
from warehouse.connectors.checkpoint import read_checkpoint  # noqa: E402
from warehouse.connectors.yahoo import YahooConnector  # noqa: E402
from warehouse.manifest import read_manifest  # noqa: E402
from warehouse.object_store import LocalObjectStore  # noqa: E402

NOW = datetime(2024, 1, 10, 12, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def yfinance_cache(tmp_path_factory):
    """yfinance keeps time zones and cookies in a cache folder: a temporary one here."""
    import yfinance

    yfinance.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))


@pytest.fixture
def yahoo():
    """The replay server, and yfinance as in a fresh process (its per-process caches of
    responses, cookie and crumb would otherwise answer for the server)."""
    from yfinance import data

    data.YfData.cache_get.cache_clear()
    data.SingletonMeta._instances.pop(data.YfData, None)
    server = serve("yahoo_chart")
    yield server
    server.close()


def _connector(server, dataset: str, **options) -> YahooConnector:
    clock = FakeClock()
    return YahooConnector(
        dataset=dataset,
        session=yahoo_session(server),
        pacer=Pacer(min_interval=0.5, clock=clock, sleep=clock.sleep),
        now=lambda: NOW,
        **options,
    )


def _bars(store) -> pd.DataFrame:
    frames = [pd.read_csv(io.BytesIO(store.get_bytes(e.key))) for e in read_manifest(store)]
    return pd.concat(frames, ignore_index=True).sort_values("ts", ignore_index=True)


def test_daily_bars_land_per_window_with_session_dates_and_adjusted_close(yahoo, tmp_path):
    store = LocalObjectStore(tmp_path / "lake")
    connector = _connector(yahoo, "bars_1d", window_days=4)

    result = backfill(connector, store, "aapl", "2024-01-02", "2024-01-10", now=NOW)

    assert (result.vendor, result.symbol, result.pages, result.bars) == ("yahoo", "AAPL", 2, 6)
    assert [k.rsplit("/", 1)[-1] for k in result.keys] == [
        "AAPL_20240102_20240105.csv",
        "AAPL_20240108_20240109.csv",
    ]
    bars = _bars(store)
    assert bars["ts"].tolist() == [
        f"2024-01-{d:02d}T00:00:00Z" for d in (2, 3, 4, 5, 8, 9)
    ]  # Yahoo's 09:30 New York stamps become session dates at 00:00 UTC
    first = bars.iloc[0]
    assert (first["open"], first["close"], first["volume"]) == (
        pytest.approx(187.15, abs=1e-4),
        pytest.approx(185.64, abs=1e-4),
        82488700.0,
    )
    assert first["adj_close"] == pytest.approx(185.64 * 0.99512, abs=1e-3)
    assert (bars["adj_close"] < bars["close"]).all()  # auto_adjust=False kept both
    assert yahoo.unmatched == []


def test_yfinance_runs_its_own_cookie_and_crumb_flow_against_the_replay(yahoo, tmp_path):
    store = LocalObjectStore(tmp_path / "lake")
    backfill(
        _connector(yahoo, "bars_1d", window_days=4),
        store,
        "AAPL",
        "2024-01-02",
        "2024-01-06",
        now=NOW,
    )
    charts_path = ("query2.finance.yahoo.com", "/v8/finance/chart/AAPL")
    paths = [(r["host"], r["path"]) for r in yahoo.requests]
    crumb = paths.index(("query1.finance.yahoo.com", "/v1/test/getcrumb"))
    assert paths[0] == ("fc.yahoo.com", "/") and crumb < paths.index(charts_path)
    charts = [r for r in yahoo.requests if r["path"] == "/v8/finance/chart/AAPL"]
    assert charts and all(r["query"].get("crumb") == "kYy0vJ7b.Xp" for r in charts)
    assert charts[-1]["query"]["interval"] == "1d"
    assert "Chrome" in charts[-1]["headers"]["User-Agent"]  # curl_cffi impersonating a browser


def test_minute_bars_are_converted_from_new_york_time_to_utc(yahoo, tmp_path):
    store = LocalObjectStore(tmp_path / "lake")

    result = backfill(
        _connector(yahoo, "bars_1m"), store, "AAPL", "2024-01-02", "2024-01-03", now=NOW
    )

    # 09:30-09:34 New York (EST) is 14:30-14:34 UTC; the minute Yahoo sent as nulls is gone.
    assert _bars(store)["ts"].tolist() == [
        "2024-01-02T14:30:00Z",
        "2024-01-02T14:31:00Z",
        "2024-01-02T14:32:00Z",
        "2024-01-02T14:34:00Z",
    ]
    assert "adj_close" not in _bars(store).columns
    assert result.last_bar == datetime(2024, 1, 2, 14, 34, tzinfo=UTC)


def test_a_window_without_trading_lands_nothing_and_fails_nothing(yahoo, tmp_path):
    store = LocalObjectStore(tmp_path / "lake")
    result = backfill(
        _connector(yahoo, "bars_1m"), store, "AAPL", "2024-01-06", "2024-01-07", now=NOW
    )
    assert (result.pages, result.bars) == (0, 0)
    assert read_checkpoint(store, "yahoo", "bars_1m", "AAPL").covered == ()
    assert yahoo.unmatched == []


def test_minute_bars_older_than_yahoos_30_days_are_refused_before_any_request(yahoo, tmp_path):
    store = LocalObjectStore(tmp_path / "lake")
    connector = _connector(yahoo, "bars_1m")
    connector.now = lambda: datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(ConnectorError, match="last 30 days only"):
        backfill(connector, store, "AAPL", "2024-01-02", "2024-01-03", now=NOW)
    assert yahoo.requests == []
