"""Vendor price connectors: fetch bars page by page, land them like file drops, resume.

`registry.make_connector(vendor, dataset)` builds one (yahoo, alpaca, ccxt);
`backfill(connector, store, symbol, start, end)` lands what the symbol's checkpoint lacks.
"""

from warehouse.connectors.backfill import BackfillResult, PageLanded, backfill
from warehouse.connectors.base import Connector, ConnectorError, Pacer
from warehouse.connectors.checkpoint import Checkpoint, read_checkpoint
from warehouse.connectors.registry import VENDORS, make_connector

__all__ = [
    "VENDORS",
    "BackfillResult",
    "Checkpoint",
    "Connector",
    "ConnectorError",
    "Pacer",
    "PageLanded",
    "backfill",
    "make_connector",
    "read_checkpoint",
]
