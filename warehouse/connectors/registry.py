"""Connectors by vendor name: the one factory the CLI and the Dagster asset call."""

from __future__ import annotations

from warehouse.connectors.base import Connector

VENDORS = ("yahoo", "alpaca", "ccxt")


def make_connector(vendor: str, dataset: str, *, exchange: str | None = None) -> Connector:
    """The connector for `vendor` (yahoo, alpaca, ccxt) filling `dataset` (bars_1m, bars_1d)."""
    if exchange is not None and vendor != "ccxt":
        raise ValueError(f"--exchange applies to the ccxt vendor only, not {vendor!r}")
    if vendor == "yahoo":
        from warehouse.connectors.yahoo import YahooConnector

        return YahooConnector(dataset=dataset)
    if vendor == "alpaca":
        from warehouse.connectors.alpaca import AlpacaConnector

        return AlpacaConnector(dataset=dataset)
    if vendor == "ccxt":
        from warehouse.connectors.ccxt_exchange import DEFAULT_EXCHANGE, CcxtConnector

        return CcxtConnector(exchange_id=exchange or DEFAULT_EXCHANGE, dataset=dataset)
    raise ValueError(f"unknown vendor {vendor!r}; connectors: {', '.join(VENDORS)}")
