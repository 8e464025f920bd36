"""Connector backfills: pages land through land_bytes, checkpoints resume, nothing twice.

The vendor is ccxt's binance class replaying recorded Binance REST answers from a local
server (fixtures/connectors), on a local lake and on S3 (the conftest's `store`).
"""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "connectors"))

from connector_replay import FakeClock, point_ccxt_at, serve  # noqa: E402

from warehouse.connectors.backfill import backfill, clean_page  # noqa: E402
from warehouse.connectors.base import ConnectorError, Pacer, windows  # noqa: E402
from warehouse.connectors.ccxt_exchange import CcxtConnector  # noqa: E402
from warehouse.connectors.checkpoint import (  # noqa: E402
    Checkpoint,
    checkpoint_key,
    read_checkpoint,
)
from warehouse.loading import load_new  # noqa: E402
from warehouse.manifest import read_manifest  # noqa: E402
from warehouse.object_store import LocalObjectStore  # noqa: E402

START, END = "2024-01-01T00:00:00Z", "2024-01-01T00:10:00Z"
LATER = datetime(2024, 1, 2, tzinfo=UTC)
MINUTES = pd.date_range("2024-01-01", periods=10, freq="1min")  # naive UTC


class Crash(Exception):
    """Stands for the process dying."""


@pytest.fixture
def binance():
    server = serve("binance_spot")
    yield server
    server.close()


def _connector(server, clock: FakeClock | None = None) -> CcxtConnector:
    clock = clock or FakeClock()
    connector = CcxtConnector(page_size=4, pacer=Pacer(clock=clock, sleep=clock.sleep))
    connector.exchange.enableRateLimit = False  # ccxt's own throttle would really sleep
    point_ccxt_at(server, connector.exchange)
    return connector


def _landed_bars(store) -> pd.DataFrame:
    """Every bar in every landed file, as the files hold them."""
    frames = [
        pd.read_csv(io.BytesIO(store.get_bytes(e.key)), parse_dates=["ts"])
        for e in read_manifest(store)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _klines_since(server) -> list[int]:
    return [int(r["query"]["startTime"]) for r in server.requests if r["path"].endswith("klines")]


def test_backfill_lands_one_file_per_page_and_records_a_checkpoint(binance, store):
    result = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    assert (result.vendor, result.symbol, result.pages, result.files_landed) == (
        "binance",
        "BTCUSDT",
        3,
        3,
    )
    assert [k.rsplit("/", 1)[-1] for k in result.keys] == [
        "BTCUSDT_20240101T0000Z_20240101T0003Z.csv",
        "BTCUSDT_20240101T0004Z_20240101T0007Z.csv",
        "BTCUSDT_20240101T0008Z_20240101T0009Z.csv",
    ]
    assert all(k.startswith("raw/binance/bars_1m/") for k in result.keys)
    bars = _landed_bars(store)
    assert list(bars["ts"].dt.tz_convert(None)) == list(
        MINUTES
    )  # the 00:10, 00:11 bars are past end
    assert bars["symbol"].unique().tolist() == ["BTCUSDT"]
    assert bars.loc[0, "open"] == 42283.58 and bars.loc[0, "volume"] == 26.21918
    checkpoint = read_checkpoint(store, "binance", "bars_1m", "BTCUSDT")
    assert checkpoint.covered == (
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 10, tzinfo=UTC)),
    )
    assert (checkpoint.pages, checkpoint.bars) == (3, 10)
    assert binance.unmatched == []


def test_resume_after_a_crash_mid_backfill_lands_the_rest_once(binance, store):
    connector = _connector(binance)
    pages = []

    def die_after_first_page(page):
        pages.append(page)
        raise Crash

    with pytest.raises(Crash):
        backfill(connector, store, "BTC/USDT", START, END, now=LATER, on_page=die_after_first_page)
    assert len(read_manifest(store)) == 1
    binance.requests.clear()

    result = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    assert result.resumed_from == datetime(2024, 1, 1, 0, 4, tzinfo=UTC)
    assert (result.pages, result.files_landed, result.bars) == (2, 2, 6)
    # The landed page is not asked for again: the re-run starts at 00:04.
    assert _klines_since(binance) == [1704067440000, 1704067680000]
    bars = _landed_bars(store)
    assert not bars["ts"].duplicated().any()
    assert list(bars["ts"].sort_values().dt.tz_convert(None)) == list(MINUTES)


class _DiesOnCheckpoint:
    """A store that dies while writing the n-th checkpoint (after the page landed)."""

    def __init__(self, inner, n: int) -> None:
        self._inner, self._left = inner, n

    def put_bytes(self, key: str, data: bytes) -> None:
        if key.startswith("state/"):
            self._left -= 1
            if self._left == 0:
                raise Crash
        self._inner.put_bytes(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_crash_between_landing_and_checkpoint_fetches_one_page_again_without_a_duplicate(
    binance, store
):
    with pytest.raises(Crash):
        backfill(
            _connector(binance), _DiesOnCheckpoint(store, 2), "BTC/USDT", START, END, now=LATER
        )
    assert len(read_manifest(store)) == 2  # the second page landed, its checkpoint did not

    result = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    assert (result.files_present, result.files_landed) == (1, 1)  # same bytes: no new file
    assert len(read_manifest(store)) == 3
    bars = _landed_bars(store)
    assert not bars["ts"].duplicated().any() and len(bars) == 10


def test_a_repeated_run_fetches_nothing_and_lands_no_file(binance, store):
    backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)
    entries = {e.key for e in read_manifest(store)}
    binance.requests.clear()

    result = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    assert (result.pages, result.files_landed, result.bars) == (0, 0, 0)
    assert {e.key for e in read_manifest(store)} == entries
    assert _klines_since(binance) == []


def test_a_lost_checkpoint_refetches_but_lands_no_new_file(binance, tmp_path):
    store = LocalObjectStore(tmp_path / "lake")
    backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)
    store.local_path(checkpoint_key("binance", "bars_1m", "BTCUSDT")).unlink()

    result = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    assert (result.pages, result.files_landed, result.files_present) == (3, 0, 3)
    assert len(read_manifest(store)) == 3


def test_bars_still_open_at_now_wait_for_the_next_run(binance, store):
    early = datetime(2024, 1, 1, 0, 6, 30, tzinfo=UTC)
    first = backfill(_connector(binance), store, "BTC/USDT", START, END, now=early)
    assert first.bars == 6 and first.last_bar == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    # The 00:06 bar closes at 00:07, after `now`: not landed, and not skipped later.
    second = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)
    assert second.resumed_from == datetime(2024, 1, 1, 0, 6, tzinfo=UTC)
    bars = _landed_bars(store)
    assert list(bars["ts"].sort_values().dt.tz_convert(None)) == list(MINUTES)


def test_an_earlier_start_fills_the_gap_before_what_landed(binance, store):
    backfill(_connector(binance), store, "BTC/USDT", "2024-01-01T00:04:00Z", END, now=LATER)
    binance.requests.clear()

    result = backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    assert result.bars == 4 and _klines_since(binance) == [1704067200000]
    assert list(_landed_bars(store)["ts"].sort_values().dt.tz_convert(None)) == list(MINUTES)


def test_landed_pages_load_into_the_warehouse(binance, store, conn):
    backfill(_connector(binance), store, "BTC/USDT", START, END, now=LATER)

    results = load_new(conn, store)

    assert [r.status for r in results] == ["loaded"] * 3
    rows = conn.execute("select symbol, ts, available_at from raw.bars_1m order by ts").fetchall()
    assert [r[1] for r in rows] == [t.to_pydatetime() for t in MINUTES]
    assert rows[0][0] == "BTCUSDT"
    assert rows[0][2] == datetime(2024, 1, 1, 0, 1, 2)  # ts + 1 minute + 2 s latency


def test_pacer_spaces_requests_by_the_min_interval():
    clock = FakeClock()
    pacer = Pacer(min_interval=0.5, clock=clock, sleep=clock.sleep)

    def request_taking(seconds: float) -> str:
        clock.now += seconds
        return "ok"

    for took in (0.1, 0.7, 0.2):
        pacer.call(lambda t=took: request_taking(t), transient=lambda exc: False, what="x")

    # Before the 2nd: 0.1 s passed -> wait 0.4; before the 3rd: 0.7 s passed -> no wait.
    assert clock.sleeps == [0.4]


def test_pacer_retries_transient_errors_with_doubling_backoff_then_gives_up():
    clock = FakeClock()
    pacer = Pacer(retries=3, backoff=1.5, clock=clock, sleep=clock.sleep)
    calls = []

    def flaky() -> str:
        calls.append(clock.now)
        raise TimeoutError("read timed out")

    with pytest.raises(ConnectorError, match="x: still failing after 4 attempts: TimeoutError"):
        pacer.call(flaky, transient=lambda exc: isinstance(exc, TimeoutError), what="x")
    assert clock.sleeps == [1.5, 3.0, 6.0] and len(calls) == 4


def test_pacer_does_not_retry_a_permanent_error():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    with pytest.raises(ConnectorError, match="x: KeyError"):
        pacer.call(lambda: {}["nope"], transient=lambda exc: False, what="x")
    assert clock.sleeps == []


def test_checkpoint_gaps_are_the_uncovered_parts_of_a_range():
    t = [datetime(2024, 1, 1, h, tzinfo=UTC) for h in range(10)]
    checkpoint = Checkpoint("v", "bars_1m", "S", covered=((t[2], t[4]), (t[6], t[7])))

    assert checkpoint.gaps(t[0], t[9]) == [(t[0], t[2]), (t[4], t[6]), (t[7], t[9])]
    assert checkpoint.gaps(t[2], t[4]) == []
    assert checkpoint.gaps(t[3], t[5]) == [(t[4], t[5])]
    landed = checkpoint.landed(t[4], t[6], t[5], 60)
    assert landed.covered == ((t[2], t[7]),) and landed.last_bar == t[5]
    assert Checkpoint.from_json(landed.to_json(), "k") == landed


def test_request_windows_fall_on_utc_midnights():
    start = datetime(2024, 1, 1, 15, tzinfo=UTC)
    end = datetime(2024, 1, 3, 6, tzinfo=UTC)
    day = datetime(2024, 1, 2, tzinfo=UTC)
    got = list(windows(start, end, day - datetime(2024, 1, 1, tzinfo=UTC)))
    assert got == [(start, day), (day, datetime(2024, 1, 3, tzinfo=UTC)), (got[2][0], end)]


def test_a_start_after_the_end_is_refused(binance, store):
    with pytest.raises(ValueError, match="is not before end"):
        backfill(_connector(binance), store, "BTC/USDT", END, START, now=LATER)


def _page(**overrides: Any) -> pd.DataFrame:
    page = pd.DataFrame(
        {
            "symbol": "X",
            "ts": pd.to_datetime(["2024-01-01T00:01Z", "2024-01-01T00:00Z", "2024-01-01T00:01Z"]),
            "open": [1.0, 1.0, 1.1],
            "high": [2.0, 2.0, 2.1],
            "low": [0.5, 0.5, 0.6],
            "close": [1.5, 1.5, 1.6],
            "volume": [10, 20, 30],
        }
    )
    return page.assign(**overrides)


def _clean(page: pd.DataFrame, dataset: str = "bars_1m") -> pd.DataFrame:
    return clean_page(
        page,
        dataset=dataset,
        symbol="X",
        since=LATER.replace(day=1),
        end=LATER,
        now=LATER,
        where="acme bars X",
    )


def test_a_page_is_sorted_deduplicated_and_typed():
    clean = _clean(_page())
    assert clean["ts"].tolist() == [
        pd.Timestamp("2024-01-01T00:00Z"),
        pd.Timestamp("2024-01-01T00:01Z"),
    ]
    assert clean["volume"].tolist() == [20.0, 30.0]  # the later copy of a repeated bar wins


@pytest.mark.parametrize(
    ("page", "dataset", "message"),
    [
        (_page().drop(columns=["volume"]), "bars_1m", "page lacks column(s) ['volume']"),
        (_page(ts=pd.to_datetime(["2024-01-01"] * 3)), "bars_1m", "must be timezone-aware"),
        (_page(), "bars_1d", "daily bars must open at 00:00 UTC"),
    ],
)
def test_a_malformed_page_is_refused_naming_the_connector(page, dataset, message):
    with pytest.raises(ConnectorError, match=r"acme bars X: ") as failure:
        _clean(page, dataset)
    assert message in str(failure.value)
