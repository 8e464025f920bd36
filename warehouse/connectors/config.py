"""`<home>/connectors.yaml`: which vendors, datasets and symbols the daily schedule fetches.

```yaml
connectors:
  - vendor: ccxt
    exchange: binance        # ccxt only; default binance
    dataset: bars_1m
    symbols: [BTC/USDT, ETH/USDT]
  - vendor: yahoo
    dataset: bars_1d
    symbols: [AAPL, MSFT]
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from warehouse.connectors.base import bar_length
from warehouse.connectors.registry import VENDORS

CONFIG_NAME = "connectors.yaml"


@dataclass(frozen=True)
class ConnectorConfig:
    """One configured connector: vendor, dataset, symbols (and the ccxt exchange id)."""

    vendor: str
    dataset: str
    symbols: tuple[str, ...]
    exchange: str | None = None


def read_config(path: Path) -> list[ConnectorConfig]:
    """The connectors listed in `path`; errors name the file, the entry and the field."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no connector configuration at {path}; see docs/adding-a-vendor.md"
        )
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    entries = document.get("connectors") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty list under 'connectors'")
    return [_entry(path, i, raw) for i, raw in enumerate(entries, start=1)]


def _entry(path: Path, index: int, raw: object) -> ConnectorConfig:
    where = f"{path}: connector {index}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping with vendor, dataset, symbols")
    unknown = sorted(set(raw) - {"vendor", "dataset", "symbols", "exchange"})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}")
    vendor, dataset, symbols = raw.get("vendor"), raw.get("dataset"), raw.get("symbols")
    if vendor not in VENDORS:
        raise ValueError(f"{where}, field 'vendor': {vendor!r} is not one of {list(VENDORS)}")
    try:
        bar_length(str(dataset))
    except ValueError as exc:
        raise ValueError(f"{where}, field 'dataset': {exc}") from None
    if isinstance(symbols, str):
        symbols = [s for s in symbols.split(",") if s.strip()]
    if not isinstance(symbols, list) or not symbols:
        raise ValueError(f"{where}, field 'symbols': expected a non-empty list")
    exchange = raw.get("exchange")
    if exchange is not None and vendor != "ccxt":
        raise ValueError(f"{where}, field 'exchange': only the ccxt vendor takes an exchange")
    return ConnectorConfig(
        vendor=vendor,
        dataset=str(dataset),
        symbols=tuple(str(s).strip() for s in symbols),
        exchange=str(exchange) if exchange is not None else None,
    )
