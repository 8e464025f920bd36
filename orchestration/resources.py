"""Dagster resources: the warehouse (lake + DuckDB file + as-of cut-off) and dbt."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from warehouse.engines.duckdb import connect
from warehouse.object_store import ObjectStore, open_store
from warehouse.settings import DBT_PROJECT_DIR, Settings


class WarehouseResource(ConfigurableResource):
    """Where the lake and the warehouse are, and the point-in-time cut-off (None = now)."""

    home: str
    lake: str
    duckdb_path: str
    as_of: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, as_of: str | None = None) -> WarehouseResource:
        """The resource for a settings object."""
        return cls(
            home=str(settings.home),
            lake=settings.lake,
            duckdb_path=str(settings.duckdb_path),
            as_of=as_of,
        )

    @property
    def settings(self) -> Settings:
        """The settings this resource stands for."""
        return Settings(home=Path(self.home), lake=self.lake, warehouse_path=Path(self.duckdb_path))

    def store(self) -> ObjectStore:
        """The lake."""
        return open_store(self.lake)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, closed on exit so dbt (another process) can open the file next."""
        conn = connect(self.duckdb_path)
        try:
            yield conn
        finally:
            conn.close()

    def dbt_vars(self) -> str:
        """`--vars` for dbt: the warehouse file and the cut-off."""
        return json.dumps({"duckdb_path": self.duckdb_path, "as_of": self.as_of})

    def dbt_target_path(self) -> Path:
        """dbt artifacts per warehouse file, so runs on scratch warehouses don't collide."""
        return Path(f"{self.duckdb_path}.dbt")


def dbt_resource() -> DbtCliResource:
    """dbt with the project's own profiles.yml (DuckDB target by default)."""
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        # The dbt installed beside this interpreter, whether or not the venv is on PATH.
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )
