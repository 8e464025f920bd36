"""Shared fixtures: real local stores and warehouses, and one demo build per session."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

from warehouse.engines.duckdb import connect  # noqa: E402
from warehouse.object_store import LocalObjectStore, S3ObjectStore  # noqa: E402
from warehouse.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible server (moto's server mode) on 127.0.0.1 for this session."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_endpoint, monkeypatch):
    """A boto3 client for the local server, configured through the standard AWS variables."""
    import boto3

    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "signalyard-test",
        "AWS_SECRET_ACCESS_KEY": "signalyard-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path):
    """An empty lake: a local folder, and the same tests again on S3 (local server)."""
    if request.param == "local":
        return LocalObjectStore(tmp_path / "lake")
    client = request.getfixturevalue("s3_client")
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3ObjectStore(f"s3://{bucket}/signalyard", client=client)


@pytest.fixture
def conn():
    """An in-memory DuckDB warehouse configured like the real one."""
    connection = connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory):
    """The whole graph materialized once on the sample data: (settings, Dagster result)."""
    from orchestration.run import materialize_graph

    home = tmp_path_factory.mktemp("demo-home")
    settings = Settings.from_env(home=home)
    result = materialize_graph(settings, land_sample_data=True)
    assert result.success
    return settings, result


@pytest.fixture(scope="session")
def demo_settings(demo_build) -> Settings:
    """Settings of the session's demo warehouse."""
    return demo_build[0]


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster (unix socket only); fails, never skips, without binaries."""
    from support.postgres import start_cluster

    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """A local[2] Spark session: no UI, loopback only, workers on this interpreter."""
    from support.spark import start_session

    session = start_session(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()
