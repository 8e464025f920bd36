"""Great Expectations suites over landed batches: built from declarations, results recorded."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from warehouse.datasets import BarClose, Dataset, get_dataset
from warehouse.expectations import (
    BatchId,
    SuiteRunner,
    build_suite,
    record_results,
    summarize_results,
    validate_batch,
    validate_new_batches,
)
from warehouse.landing import land_bytes
from warehouse.loading import load_new
from warehouse.object_store import LocalObjectStore

BARS = get_dataset("bars_1m")
SHORT_INTEREST = get_dataset("short_interest")
RECEIVED = pd.Timestamp("2024-03-01")
BATCH = BatchId("raw/v/bars_1m/2024-03-01/bars.csv", "ab" * 32)


def _bars(rows: int = 10) -> pd.DataFrame:
    """A good bars_1m batch as read back from raw.bars_1m (lineage included)."""
    ts = pd.date_range("2024-01-01", periods=rows, freq="min")
    frame = pd.DataFrame(
        {
            "symbol": ["BTCUSDT"] * rows,
            "ts": ts,
            "open": 100.0,
            "high": 102.0,
            "low": 99.0,
            "close": 101.0,
            "volume": 5.0,
            "available_at": ts + timedelta(minutes=1, seconds=2),
            "_source_file": BATCH.source_file,
            "_received_at": RECEIVED,
            "_vendor": "v",
        }
    )
    return frame


def _null_symbol(frame: pd.DataFrame) -> None:
    frame.loc[3, "symbol"] = None


def _duplicate_key(frame: pd.DataFrame) -> None:
    frame.loc[5, "ts"] = frame.loc[4, "ts"]
    frame.loc[5, "available_at"] = frame.loc[4, "available_at"]


def _negative_low(frame: pd.DataFrame) -> None:
    frame.loc[[1, 2], "low"] = -1.0


def _high_below_low(frame: pd.DataFrame) -> None:
    frame.loc[6, ["high", "low"]] = [98.0, 99.5]


def _available_before_ts(frame: pd.DataFrame) -> None:
    frame.loc[[0, 7, 8], "available_at"] = frame.loc[[0, 7, 8], "ts"] - timedelta(seconds=1)


def _negative_volume(frame: pd.DataFrame) -> None:
    frame.loc[9, "volume"] = -3.0


@pytest.mark.parametrize(
    ("breakage", "expectation", "columns", "unexpected"),
    [
        (_null_symbol, "expect_column_values_to_not_be_null", ("symbol",), 1),
        (_duplicate_key, "expect_compound_columns_to_be_unique", ("symbol", "ts"), 2),
        (_negative_low, "expect_column_values_to_be_between", ("low",), 2),
        (_high_below_low, "expect_column_pair_values_a_to_be_greater_than_b", ("high", "low"), 1),
        (
            _available_before_ts,
            "expect_column_pair_values_a_to_be_greater_than_b",
            ("available_at", "ts"),
            3,
        ),
        (_negative_volume, "expect_column_values_to_be_between", ("volume",), 1),
    ],
)
def test_a_broken_batch_fails_the_named_expectation_with_its_unexpected_count(
    breakage, expectation, columns, unexpected
):
    frame = _bars()
    breakage(frame)
    validation = validate_batch(frame, BARS, BATCH)
    outcome = validation.result(expectation, *columns)
    assert not validation.success
    assert not outcome.success
    assert outcome.unexpected_count == unexpected
    assert 0 < len(outcome.unexpected_sample) <= unexpected


def test_a_good_batch_meets_every_expectation_of_its_suite():
    validation = validate_batch(_bars(), BARS, BATCH)
    assert validation.success, validation.failed()
    assert validation.failed() == ()
    assert len(validation.results) == len(build_suite(BARS).expectations)
    assert (validation.batch, validation.dataset, validation.suite) == (
        BATCH,
        "bars_1m",
        "bars_1m_landed_batch",
    )


def test_unexpected_values_are_kept_as_a_small_json_ready_sample():
    frame = _bars()
    _negative_low(frame)
    outcome = validate_batch(frame, BARS, BATCH).result("expect_column_values_to_be_between", "low")
    assert outcome.unexpected_sample == (-1.0, -1.0)
    pair = validate_batch(frame, BARS, BATCH).result(
        "expect_column_pair_values_a_to_be_greater_than_b", "open", "low"
    )
    assert pair.success  # open 100 >= low -1: only the price check is broken


def test_a_bar_dated_after_its_file_arrived_fails_beyond_the_tolerance():
    frame = _bars()
    frame.loc[9, "ts"] = RECEIVED + timedelta(minutes=4)
    frame.loc[9, "available_at"] = frame.loc[9, "ts"] + timedelta(minutes=1)
    assert validate_batch(frame, BARS, BATCH).success  # within the clock-skew tolerance
    frame.loc[9, "ts"] = RECEIVED + timedelta(hours=1)
    frame.loc[9, "available_at"] = frame.loc[9, "ts"] + timedelta(minutes=1)
    outcome = validate_batch(frame, BARS, BATCH).result(
        "expect_column_pair_values_a_to_be_greater_than_b", "_received_at_plus_tolerance", "ts"
    )
    assert (outcome.success, outcome.unexpected_count) == (False, 1)
    assert outcome.unexpected_sample == (["2024-03-01T00:05:00", "2024-03-01T01:00:00"],)


def test_a_file_that_only_repeated_loaded_rows_is_an_empty_batch_that_passes():
    empty = _bars().iloc[0:0]
    validation = validate_batch(empty, BARS, BATCH)
    assert validation.success, validation.failed()


def test_a_missing_required_column_fails_the_column_set_expectation_naming_it():
    validation = validate_batch(_bars().drop(columns=["volume"]), BARS, BATCH)
    [column_set] = [
        r for r in validation.results if r.expectation_type == "expect_table_columns_to_match_set"
    ]
    assert not column_set.success
    assert column_set.unexpected_sample == ("volume",)
    not_null = validation.result("expect_column_values_to_not_be_null", "volume")
    assert not not_null.success and "volume" in not_null.error


def test_published_data_is_checked_against_its_publication_date():
    frame = pd.DataFrame(
        {
            "symbol": ["IBM", "IBM"],
            "settlement_date": pd.to_datetime(["2024-01-12", "2024-01-31"]),
            "publication_date": pd.to_datetime(["2024-01-24", "2024-02-08"]),
            "short_interest": [1000.0, 1100.0],
            "avg_daily_volume": [200.0, 210.0],
            "available_at": pd.to_datetime(["2024-01-24 22:00", "2024-02-08 22:00"]),
            "_source_file": "raw/v/short_interest/2024-03-01/si.csv",
            "_received_at": RECEIVED,
            "_vendor": "v",
        }
    )
    assert validate_batch(frame, SHORT_INTEREST, BATCH).success
    frame.loc[1, "available_at"] = pd.Timestamp("2024-02-01 22:00")  # settlement, not publication
    outcome = validate_batch(frame, SHORT_INTEREST, BATCH).result(
        "expect_column_pair_values_a_to_be_greater_than_b", "available_at", "publication_date"
    )
    assert (outcome.success, outcome.unexpected_count) == (False, 1)


def _expectations(dataset: Dataset) -> set[tuple[str, tuple[str, ...]]]:
    found = set()
    for expectation in build_suite(dataset).expectations:
        kwargs = expectation.configuration.kwargs
        columns = tuple(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
        found.add((expectation.expectation_type, columns or tuple(kwargs.get("column_list", ()))))
    return found


def test_a_dataset_declared_ad_hoc_gets_a_suite_from_its_declaration():
    funding = Dataset(
        name="funding_rates",
        columns={"symbol": "text", "ts": "timestamp", "venue": "text", "rate": "double"},
        key=("symbol", "ts", "venue"),
        availability=BarClose(timedelta(hours=8)),
    )
    suite = _expectations(funding)
    for column in ("symbol", "ts", "venue", "rate", "available_at", "_received_at"):
        assert ("expect_column_values_to_not_be_null", (column,)) in suite
    assert ("expect_compound_columns_to_be_unique", ("symbol", "ts", "venue")) in suite
    assert ("expect_column_pair_values_a_to_be_greater_than_b", ("available_at", "ts")) in suite
    assert not any(columns == ("high", "low") for _, columns in suite)  # not a bar dataset
    frame = pd.DataFrame(
        {
            "symbol": ["BTC", "BTC"],
            "ts": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:00"]),
            "venue": ["binance", "binance"],
            "rate": [0.0001, 0.0002],
            "available_at": pd.to_datetime(["2024-01-01 08:00", "2024-01-01 08:00"]),
            "_source_file": "k",
            "_received_at": RECEIVED,
            "_vendor": "v",
        }
    )
    outcome = validate_batch(frame, funding, BATCH).result(
        "expect_compound_columns_to_be_unique", "symbol", "ts", "venue"
    )
    assert (outcome.success, outcome.unexpected_count) == (False, 2)


def test_an_ad_hoc_bar_dataset_gets_the_price_expectations():
    bars_5m = Dataset(
        name="bars_5m",
        columns=dict(BARS.columns),
        key=BARS.key,
        availability=BarClose(timedelta(minutes=5)),
    )
    suite = _expectations(bars_5m)
    for pair in (("high", "low"), ("high", "open"), ("high", "close"), ("open", "low")):
        assert ("expect_column_pair_values_a_to_be_greater_than_b", pair) in suite
    assert ("expect_column_values_to_be_between", ("volume",)) in suite


def test_one_runner_builds_a_new_suite_when_a_name_is_declared_anew():
    per_venue = Dataset(
        name="funding_rates",
        columns={"symbol": "text", "ts": "timestamp", "venue": "text", "rate": "double"},
        key=("symbol", "ts", "venue"),
        availability=BarClose(timedelta(hours=8)),
    )
    frame = pd.DataFrame(
        {
            "symbol": ["BTC", "BTC"],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "venue": ["binance", "okx"],
            "rate": [0.0001, 0.0002],
            "available_at": pd.to_datetime(["2024-01-01 08:00", "2024-01-01 08:00"]),
            "_source_file": "k",
            "_received_at": RECEIVED,
            "_vendor": "v",
        }
    )
    runner = SuiteRunner()
    assert runner.validate(frame, per_venue, BATCH).success
    one_venue = replace(per_venue, key=("symbol", "ts"))
    validation = runner.validate(frame, one_venue, BATCH)
    outcome = validation.result("expect_compound_columns_to_be_unique", "symbol", "ts")
    assert (outcome.success, outcome.unexpected_count) == (False, 2)


def _results(conn) -> pd.DataFrame:
    return conn.execute(
        "select * from meta.expectation_results order by source_file, position"
    ).fetchdf()


def test_results_are_recorded_per_expectation_and_revalidation_replaces_them(conn):
    broken = _bars()
    _negative_low(broken)
    failing = validate_batch(broken, BARS, BATCH)
    assert record_results(conn, [failing]) == len(failing.results)
    rows = _results(conn)
    assert len(rows) == len(failing.results)
    assert set(rows["source_file"]) == {BATCH.source_file}
    assert set(rows["sha256"]) == {BATCH.sha256}
    assert set(rows["suite"]) == {"bars_1m_landed_batch"}
    low = rows[
        (rows["expectation_type"] == "expect_column_values_to_be_between")
        & (rows["column_names"] == "low")
    ].iloc[0]
    assert (bool(low["success"]), low["unexpected_count"]) == (False, 2)
    assert json.loads(low["unexpected_sample"]) == [-1.0, -1.0]
    assert rows["validated_at"].notna().all()

    record_results(conn, [validate_batch(_bars(), BARS, BATCH)])
    again = _results(conn)
    assert len(again) == len(failing.results)
    assert again["success"].all()


def _land_and_load(tmp_path, conn) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "lake")
    received = datetime(2024, 3, 1, tzinfo=UTC)
    header = "symbol,ts,open,high,low,close,volume\n"
    files = {
        "week1.csv": header + "BTCUSDT,2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n",
        "week2.csv": header + "BTCUSDT,2024-01-08T00:00:00Z,1.5,2,1,1.8,11\n"
        "ETHUSDT,2024-01-08T00:00:00Z,20,21,19,20.5,3\n",
        "bad.csv": header + "BTCUSDT,2024-01-09T00:00:00Z,1,0.5,2,1,1\n",  # high < low
    }
    for name, text in files.items():
        land_bytes(store, text.encode(), name, vendor="v", dataset="bars_1m", received_at=received)
    daily = "symbol,ts,open,high,low,close,volume\nIBM,2024-01-02,100,101,99,100.5,1000\n"
    land_bytes(store, daily.encode(), "d.csv", vendor="v", dataset="bars_1d", received_at=received)
    load_new(conn, store)
    return store


def test_new_loaded_batches_are_validated_once_each_and_quarantined_files_never(tmp_path, conn):
    _land_and_load(tmp_path, conn)
    validations = validate_new_batches(conn)
    assert sorted(v.batch.source_file.rsplit("/", 1)[-1] for v in validations) == [
        "d.csv",
        "week1.csv",
        "week2.csv",
    ]
    assert all(v.success for v in validations)
    assert validate_new_batches(conn) == []
    loaded = dict(conn.execute("select key, sha256 from meta.loaded_files").fetchall())
    assert {(v.batch.source_file, v.batch.sha256) for v in validations} <= set(loaded.items())
    summary = summarize_results(conn)
    assert (summary["bars_1m"].batches, summary["bars_1m"].failed_batches) == (2, 0)
    assert summary["bars_1d"].passed


def test_a_batch_is_read_back_from_its_raw_rows_and_only_chosen_datasets_run(tmp_path, conn):
    _land_and_load(tmp_path, conn)
    only_daily = validate_new_batches(conn, datasets=[get_dataset("bars_1d")])
    assert [v.dataset for v in only_daily] == ["bars_1d"]
    week2 = conn.execute(
        "select key from meta.loaded_files where key like '%week2.csv'"
    ).fetchall()[0][0]
    conn.execute(
        "update raw.bars_1m set available_at = ts - interval 1 second "
        "where _source_file = ? and symbol = 'ETHUSDT'",
        [week2],
    )
    validations = {v.batch.source_file: v for v in validate_new_batches(conn)}
    assert set(validations) == {week2, week2.replace("week2", "week1")}
    broken = validations[week2].result(
        "expect_column_pair_values_a_to_be_greater_than_b", "available_at", "ts"
    )
    assert (broken.success, broken.unexpected_count, broken.element_count) == (False, 1, 2)
    summary = summarize_results(conn)["bars_1m"]
    assert (summary.batches, summary.failed_batches) == (2, 1)
    [failure] = summary.failed_expectations
    assert failure["expectation"] == "expect_column_pair_values_a_to_be_greater_than_b"
    assert (failure["columns"], failure["unexpected_rows"]) == ("available_at,ts", 1)
    assert failure["example_files"] == [week2]


def test_a_loaded_file_that_added_no_rows_is_validated_and_passes(tmp_path, conn):
    _land_and_load(tmp_path, conn)
    store = LocalObjectStore(tmp_path / "lake")
    repeat = (  # week2.csv's rows, reordered: other bytes, nothing new
        "symbol,ts,open,high,low,close,volume\n"
        "ETHUSDT,2024-01-08T00:00:00Z,20,21,19,20.5,3\n"
        "BTCUSDT,2024-01-08T00:00:00Z,1.5,2,1,1.8,11\n"
    )
    land_bytes(store, repeat.encode(), "again.csv", vendor="v", dataset="bars_1m")
    [loaded] = load_new(conn, store)
    assert (loaded.status, loaded.rows) == ("loaded", 0)
    validations = {v.batch.source_file: v for v in validate_new_batches(conn)}
    assert validations[loaded.key].success
