"""Every file of the bad-input corpus reaches its exact outcome in one mixed batch.

A bad file goes to quarantine/ with a reason naming the file, row and column; every
other file of the same batch loads; nothing is silently dropped.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.warehouse.bad_files import CORPUS, bars
from warehouse.engines.duckdb import connect
from warehouse.landing import land_bytes
from warehouse.loading import load_new
from warehouse.manifest import ManifestEntry, write_entry
from warehouse.object_store import LocalObjectStore, S3ObjectStore

RECEIVED = datetime(2024, 3, 1, tzinfo=UTC)
GOOD = bars(
    "BTCUSDT,2024-01-05T00:00:00Z,1,2,0.5,1.5,10", "BTCUSDT,2024-01-05T00:01:00Z,1,2,1,1,11"
)


@pytest.fixture(scope="module", params=["local", "s3"])
def batch(request, tmp_path_factory):
    """The corpus plus one good file, landed together and loaded in one run (once per lake).

    Module-scoped: every case checks the same batch (the point: they share it).
    """
    if request.param == "local":
        store = LocalObjectStore(tmp_path_factory.mktemp("lake"))
        with connect(":memory:") as conn:
            yield _load_batch(store, conn)
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "signalyard-test",
            "AWS_SECRET_ACCESS_KEY": "signalyard-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        import boto3

        client = boto3.client("s3")
        bucket = f"lake-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        with connect(":memory:") as conn:
            yield _load_batch(S3ObjectStore(f"s3://{bucket}/signalyard", client=client), conn)


def _load_batch(store, conn):
    keys = {}
    for case in CORPUS:
        entry = land_bytes(
            store, case.data, case.name, vendor="v", dataset="bars_1m", received_at=RECEIVED
        ).entry
        keys[case.name] = entry
    good = land_bytes(store, GOOD, "good.csv", vendor="v", dataset="bars_1m", received_at=RECEIVED)
    results = {r.key: r for r in load_new(conn, store)}
    return store, conn, keys, good.entry, results


def test_the_corpus_covers_every_listed_failure():
    names = {case.name for case in CORPUS}
    assert len(names) == len(CORPUS) >= 20


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_each_bad_file_has_its_exact_outcome(batch, case):
    store, conn, keys, _, results = batch
    entry = keys[case.name]
    result = results[entry.key]
    assert result.status == case.status, result.reason
    if case.status == "quarantined":
        assert result.reason.startswith(entry.key)
        for fragment in case.reason:
            assert fragment in result.reason
        base = f"quarantine/v/bars_1m/{entry.sha256}"
        assert store.get_bytes(f"{base}/{entry.key.rsplit('/', 1)[-1]}") == case.data
        assert json.loads(store.get_bytes(f"{base}/reason.json"))["reason"] == result.reason
        assert store.get_bytes(entry.key) == case.data  # raw/ keeps the original
        loaded = conn.execute(
            "select count(*) from raw.bars_1m where _source_file = ?", [entry.key]
        ).fetchall()[0][0]
        assert loaded == 0
    else:
        assert result.rows == case.rows
        assert result.extra_columns == case.extra_columns
        for fragment in case.warnings:
            assert any(fragment in warning for warning in result.warnings), result.warnings
        loaded = conn.execute(
            "select count(*) from raw.bars_1m where _source_file = ?", [entry.key]
        ).fetchall()[0][0]
        assert loaded == case.rows


def test_the_good_file_of_the_batch_loads_whatever_else_fails(batch):
    _, conn, _, good, results = batch
    assert results[good.key].status == "loaded"
    assert results[good.key].rows == 2
    quarantined = sum(r.status == "quarantined" for r in results.values())
    assert quarantined == sum(case.status == "quarantined" for case in CORPUS)
    recorded = conn.execute(
        "select status, count(*) from meta.loaded_files group by status order by status"
    ).fetchall()
    assert dict(recorded) == {
        "loaded": sum(r.status == "loaded" for r in results.values()),
        "quarantined": quarantined,
    }


def test_out_of_order_rows_get_their_own_available_at(batch):
    _, conn, keys, _, _ = batch
    rows = conn.execute(
        "select ts, available_at from raw.bars_1m where _source_file = ? order by ts",
        [keys["out_of_order.csv"].key],
    ).fetchall()
    assert [(a - t).total_seconds() for t, a in rows] == [62.0, 62.0, 62.0]
    assert [t.minute for t, _ in rows] == [0, 1, 2]


def test_the_duplicate_conflict_reason_names_both_rows(batch):
    _, _, keys, _, results = batch
    assert "(also at row 4)" in results[keys["duplicate_conflict.csv"].key].reason


def test_a_manifest_key_that_escapes_the_lake_is_quarantined_without_reading_it(store, conn):
    entry = ManifestEntry(
        vendor="v",
        dataset="bars_1m",
        key="raw/v/bars_1m/../../../../etc/passwd",
        sha256="0" * 64,
        size=1,
        rows=1,
        columns=(),
        received_at=RECEIVED,
        original_name="passwd",
    )
    write_entry(store, entry)
    [result] = load_new(conn, store)
    assert result.status == "quarantined"
    assert "invalid object key" in result.reason and entry.key in result.reason
    note = json.loads(store.get_bytes("quarantine/v/bars_1m/" + "0" * 64 + "/reason.json"))
    assert "copy_error" in note  # nothing was copied from outside the lake


def test_a_manifest_entry_of_an_unknown_dataset_is_quarantined_and_the_rest_loads(store, conn):
    good = land_bytes(store, GOOD, "good.csv", vendor="v", dataset="bars_1m", received_at=RECEIVED)
    entry = ManifestEntry(
        vendor="v",
        dataset="prices",
        key=good.entry.key,
        sha256="1" * 64,
        size=1,
        rows=1,
        columns=(),
        received_at=RECEIVED,
        original_name="good.csv",
    )
    write_entry(store, entry)
    results = {r.dataset: r for r in load_new(conn, store)}
    assert results["bars_1m"].status == "loaded"
    assert results["prices"].status == "quarantined"
    assert "unknown dataset 'prices'" in results["prices"].reason


@pytest.mark.parametrize("name", ["../escape.csv", "a/../../escape.csv", "/etc/passwd"])
def test_landing_refuses_a_path_traversal_name(store, name):
    with pytest.raises(ValueError, match="invalid object key"):
        land_bytes(store, GOOD, name, vendor="v", dataset="bars_1m", received_at=RECEIVED)
    assert list(store.list("")) == []


def test_status_lists_every_quarantined_corpus_file_with_its_reason(tmp_path, capsys):
    from orchestration.cli import main

    drop = tmp_path / "drop"
    drop.mkdir()
    for case in CORPUS:
        (drop / case.name).write_bytes(case.data)
    home = ["--home", str(tmp_path / "home")]
    assert main([*home, "land", str(drop), "--vendor", "v", "--dataset", "bars_1m"]) == 0
    assert main([*home, "load", "--json"]) == 1  # something was quarantined
    capsys.readouterr()
    assert main([*home, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    listed = {q["key"].rsplit("/", 1)[-1]: q["reason"] for q in status["quarantined"]}
    expected = {case.name: case.reason for case in CORPUS if case.status == "quarantined"}
    assert set(listed) == set(expected)
    for name, fragments in expected.items():
        for fragment in fragments:
            assert fragment in listed[name], (name, listed[name])
