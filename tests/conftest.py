"""Shared fixtures: real local stores and warehouses, and one demo build per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

from warehouse.engines.duckdb import connect  # noqa: E402
from warehouse.object_store import LocalObjectStore  # noqa: E402
from warehouse.settings import Settings  # noqa: E402


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    """An empty local lake."""
    return LocalObjectStore(tmp_path / "lake")


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
