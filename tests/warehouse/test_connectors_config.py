"""`<home>/connectors.yaml`: parsed into connector entries; mistakes named by file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.connectors.config import ConnectorConfig, read_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connectors.yaml"
    path.write_text(text)
    return path


def test_entries_are_read_with_their_symbols_and_exchange(tmp_path):
    path = _write(
        tmp_path,
        "connectors:\n"
        "  - {vendor: ccxt, exchange: kraken, dataset: bars_1m, symbols: [BTC/USD, ETH/USD]}\n"
        "  - {vendor: yahoo, dataset: bars_1d, symbols: 'AAPL, MSFT'}\n",
    )
    assert read_config(path) == [
        ConnectorConfig("ccxt", "bars_1m", ("BTC/USD", "ETH/USD"), "kraken"),
        ConnectorConfig("yahoo", "bars_1d", ("AAPL", "MSFT")),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{vendor: reuters, dataset: bars_1d, symbols: [X]}", "connector 1, field 'vendor'"),
        ("{vendor: yahoo, dataset: fundamentals, symbols: [X]}", "connector 1, field 'dataset'"),
        ("{vendor: yahoo, dataset: bars_1d, symbols: []}", "connector 1, field 'symbols'"),
        ("{vendor: yahoo, dataset: bars_1d, symbols: [X], exchange: nyse}", "field 'exchange'"),
        ("{vendor: yahoo, dataset: bars_1d, symbol: [X]}", "unknown field(s) ['symbol']"),
    ],
)
def test_a_bad_entry_is_named_by_file_entry_and_field(tmp_path, entry, message):
    path = _write(tmp_path, f"connectors:\n  - {entry}\n")
    with pytest.raises(ValueError, match=r"connectors\.yaml") as failure:
        read_config(path)
    assert message in str(failure.value)


def test_a_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "connectors.yaml")):
        read_config(tmp_path / "connectors.yaml")


def test_a_file_without_connectors_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected a non-empty list under 'connectors'"):
        read_config(_write(tmp_path, "vendors: []\n"))
