"""`signalyard fetch`: the CLI main in process, its connector pointed at recorded answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "connectors"))

from connector_replay import FakeClock, point_ccxt_at, serve  # noqa: E402

from orchestration.cli import main  # noqa: E402
from warehouse.connectors import registry  # noqa: E402
from warehouse.connectors.base import Pacer  # noqa: E402
from warehouse.connectors.ccxt_exchange import CcxtConnector  # noqa: E402

WINDOW = ["--start", "2024-01-01T00:00", "--end", "2024-01-01T00:10"]


@pytest.fixture
def replayed_binance(monkeypatch):
    """The factory builds the real ccxt connector, sent to the replay server."""
    server, calls = serve("binance_spot"), []

    def make_connector(vendor: str, dataset: str, *, exchange: str | None = None):
        calls.append((vendor, dataset, exchange))
        if vendor != "ccxt":
            raise ValueError(f"unknown vendor {vendor!r}; connectors: yahoo, alpaca, ccxt")
        clock = FakeClock()
        connector = CcxtConnector(
            exchange_id=exchange or "binance",
            dataset=dataset,
            page_size=4,
            pacer=Pacer(clock=clock, sleep=clock.sleep),
        )
        connector.exchange.enableRateLimit = False
        point_ccxt_at(server, connector.exchange)
        return connector

    monkeypatch.setattr(registry, "make_connector", make_connector)
    yield calls
    server.close()


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_fetch_lands_every_symbol_and_reports_pages_files_and_bars(
    replayed_binance, tmp_path, capsys
):
    home = ["--home", str(tmp_path)]
    code, out, _ = _run(
        capsys, *home, "fetch", "ccxt", "--symbols", "BTC/USDT,ETH/USDT", *WINDOW, "--json"
    )

    assert code == 0
    payload = json.loads(out)
    assert replayed_binance == [("ccxt", "bars_1m", None)]
    assert (payload["vendor"], payload["dataset"], payload["failed"]) == ("binance", "bars_1m", {})
    assert [
        (r["symbol"], r["pages"], r["files_landed"], r["bars"]) for r in payload["results"]
    ] == [
        ("BTCUSDT", 3, 3, 10),
        ("ETHUSDT", 3, 3, 10),
    ]
    code, out, _ = _run(capsys, *home, "status", "--json")
    assert json.loads(out)["landed"] == {"binance/bars_1m": 6}


def test_a_second_fetch_resumes_after_the_last_landed_bar(replayed_binance, tmp_path, capsys):
    home = ["--home", str(tmp_path)]
    first = ["--start", "2024-01-01T00:00", "--end", "2024-01-01T00:04"]
    assert _run(capsys, *home, "fetch", "ccxt", "--symbols", "BTC/USDT", *first)[0] == 0

    code, out, _ = _run(capsys, *home, "fetch", "ccxt", "--symbols", "BTC/USDT", *WINDOW)

    assert code == 0
    assert "BTCUSDT      2 page(s), 2 file(s) landed, 0 already present, 6 bar(s)" in out
    assert "last bar 2024-01-01 00:09Z, resumed from 2024-01-01 00:04Z" in out
    code, out, _ = _run(capsys, *home, "fetch", "ccxt", "--symbols", "BTC/USDT", *WINDOW)
    assert code == 0 and "0 file(s) landed, 0 bar(s), 0 symbol(s) failed" in out


def test_a_failing_symbol_exits_1_and_the_others_still_land(replayed_binance, tmp_path, capsys):
    code, out, _ = _run(
        capsys,
        "--home",
        str(tmp_path),
        "fetch",
        "ccxt",
        "--symbols",
        "DOGE/USDT,BTC/USDT",
        *WINDOW,
        "--exchange",
        "binance",
    )
    assert code == 1
    assert "DOGE/USDT    FAILED: binance DOGE/USDT 1m since 2024-01-01T00:00Z: BadSymbol" in out
    assert "BTCUSDT      3 page(s), 3 file(s) landed" in out


def test_an_unknown_vendor_exits_2_with_the_known_ones(replayed_binance, tmp_path, capsys):
    code, _, err = _run(
        capsys, "--home", str(tmp_path), "fetch", "bloomberg", "--symbols", "X", *WINDOW
    )
    assert code == 2 and "unknown vendor 'bloomberg'; connectors: yahoo, alpaca, ccxt" in err


def test_the_real_factory_refuses_an_exchange_for_another_vendor(tmp_path, capsys):
    code, _, err = _run(
        capsys,
        "--home",
        str(tmp_path),
        "fetch",
        "yahoo",
        "--symbols",
        "AAPL",
        *WINDOW,
        "--exchange",
        "binance",
    )
    assert code == 2 and "--exchange applies to the ccxt vendor only" in err
