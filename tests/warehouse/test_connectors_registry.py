"""`make_connector`: one factory for the CLI and the Dagster asset."""

from __future__ import annotations

import pytest

from warehouse.connectors.ccxt_exchange import CcxtConnector
from warehouse.connectors.registry import make_connector
from warehouse.connectors.yahoo import YahooConnector


def test_each_vendor_name_builds_its_connector_for_the_dataset():
    yahoo = make_connector("yahoo", "bars_1d")
    assert isinstance(yahoo, YahooConnector) and (yahoo.vendor, yahoo.dataset) == (
        "yahoo",
        "bars_1d",
    )
    ccxt = make_connector("ccxt", "bars_1m", exchange="kraken")
    assert isinstance(ccxt, CcxtConnector) and (ccxt.vendor, ccxt.dataset) == ("kraken", "bars_1m")
    assert make_connector("ccxt", "bars_1m").vendor == "binance"


def test_only_bar_datasets_have_connectors():
    with pytest.raises(ValueError, match="connectors fetch price bars only"):
        make_connector("yahoo", "short_interest")


def test_an_unknown_vendor_lists_the_known_ones():
    with pytest.raises(
        ValueError, match="unknown vendor 'quandl'; connectors: yahoo, alpaca, ccxt"
    ):
        make_connector("quandl", "bars_1d")
