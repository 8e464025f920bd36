"""The S3 lake against a real S3-compatible server on 127.0.0.1 (moto's server mode)."""

from __future__ import annotations

import json
import uuid

import pytest

from orchestration.cli import main
from warehouse.object_store import S3ObjectStore, open_store

GOOD = "symbol,ts,open,high,low,close,volume\nBTCUSDT,2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"


@pytest.fixture
def bucket(s3_client) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def test_open_store_gives_an_s3_store_from_the_standard_aws_chain(bucket):
    store = open_store(f"s3://{bucket}/team/lake")
    assert isinstance(store, S3ObjectStore)
    store.put_bytes("raw/a.csv", b"x")
    assert store.exists("raw/a.csv") and not store.exists("raw/b.csv")
    assert store.get_bytes("raw/a.csv") == b"x"
    assert store.local_path("raw/a.csv") is None


def test_keys_are_listed_relative_to_the_prefix_and_other_prefixes_stay_invisible(
    bucket, s3_client
):
    s3_client.put_object(Bucket=bucket, Key="other/raw/x.csv", Body=b"1")
    store = S3ObjectStore(f"s3://{bucket}/lake", client=s3_client)
    store.put_bytes("raw/v/d/2024-01-01/b.csv", b"2")
    store.put_bytes("raw/v/d/2024-01-01/a.csv", b"3")
    store.put_bytes("manifest/v/d/h.json", b"{}")
    assert list(store.list("raw")) == ["raw/v/d/2024-01-01/a.csv", "raw/v/d/2024-01-01/b.csv"]
    assert len(list(store.list(""))) == 3


@pytest.mark.parametrize("url", ["s3://", "gs://bucket/x"])
def test_bad_lake_urls_are_refused_clearly(url):
    with pytest.raises(ValueError, match="bucket|unsupported lake URL"):
        open_store(url)


def test_the_cli_lands_loads_and_reports_an_s3_lake(bucket, tmp_path, capsys):
    (tmp_path / "a.csv").write_text(GOOD)
    lake = ["--home", str(tmp_path / "home"), "--lake", f"s3://{bucket}/lake"]
    assert (
        main([*lake, "land", str(tmp_path / "a.csv"), "--vendor", "acme", "--dataset", "bars_1m"])
        == 0
    )
    assert main([*lake, "load"]) == 0
    capsys.readouterr()
    assert main([*lake, "status", "--json"]) == 0
    out = capsys.readouterr().out
    status = json.loads(out)
    assert status["landed"] == {"acme/bars_1m": 1}
    assert status["rows"]["raw.bars_1m"] == 1
    assert "signalyard-test-secret" not in out
