"""Landing: unchanged bytes under raw/, a manifest entry each, idempotent by content."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warehouse.landing import land_bytes, land_path
from warehouse.manifest import read_manifest

CSV = b"symbol,ts,open,high,low,close,volume\nBTCUSDT,2024-01-01T00:00:00Z,1,2,1,2,5\n"
RECEIVED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_landing_writes_the_bytes_unchanged_under_the_raw_layout(store):
    result = land_bytes(store, CSV, "a.csv", vendor="v", dataset="bars_1m", received_at=RECEIVED)
    assert result.landed
    assert result.entry.key == "raw/v/bars_1m/2024-03-01/a.csv"
    assert store.get_bytes(result.entry.key) == CSV
    assert result.entry.sha256 == hashlib.sha256(CSV).hexdigest()
    assert (result.entry.rows, result.entry.size) == (1, len(CSV))
    assert result.entry.columns == ("symbol", "ts", "open", "high", "low", "close", "volume")


def test_landing_the_same_bytes_twice_is_a_no_op_that_says_so(store):
    first = land_bytes(store, CSV, "a.csv", vendor="v", dataset="bars_1m", received_at=RECEIVED)
    again = land_bytes(store, CSV, "b.csv", vendor="v", dataset="bars_1m")
    assert not again.landed
    assert again.entry == first.entry
    assert len(read_manifest(store)) == 1


def test_a_changed_file_under_the_same_name_is_a_new_version_not_an_overwrite(store):
    first = land_bytes(store, CSV, "a.csv", vendor="v", dataset="bars_1m", received_at=RECEIVED)
    changed = CSV.replace(b",2,5", b",2,6")
    second = land_bytes(
        store, changed, "a.csv", vendor="v", dataset="bars_1m", received_at=RECEIVED
    )
    assert second.landed and second.entry.key != first.entry.key
    assert second.entry.key.startswith("raw/v/bars_1m/2024-03-01/a__")
    assert store.get_bytes(first.entry.key) == CSV
    assert store.get_bytes(second.entry.key) == changed
    assert len(read_manifest(store)) == 2


def test_an_unreadable_file_still_lands_and_records_why(store):
    result = land_bytes(store, b"\x1f\x8b\x08broken", "x.csv.gz", vendor="v", dataset="bars_1m")
    assert result.landed
    assert result.entry.rows is None
    assert "x.csv.gz" in result.entry.read_error


@pytest.mark.parametrize("name", ["../escape.csv", "/abs.csv"])
def test_keys_that_escape_the_lake_are_rejected(store, name):
    with pytest.raises(ValueError, match="invalid object key"):
        land_bytes(store, CSV, name, vendor="v", dataset="bars_1m")
    assert read_manifest(store) == []


def test_unknown_dataset_is_rejected_with_the_known_ones(store):
    with pytest.raises(ValueError, match="known datasets: bars_1d, bars_1m"):
        land_bytes(store, CSV, "a.csv", vendor="v", dataset="prices")


def test_landing_a_folder_lands_each_file_and_skips_hidden_ones(store, tmp_path: Path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.csv").write_bytes(CSV)
    (folder / "b.csv").write_bytes(CSV.replace(b"BTC", b"ETH"))
    (folder / ".partial").write_bytes(b"ignored")
    results = land_path(store, folder, vendor="v", dataset="bars_1m")
    assert [r.entry.original_name for r in results] == ["a.csv", "b.csv"]
    assert all(r.landed for r in results)
