"""The one settings object: where the lake, warehouse and outputs live."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_HOME = Path(".signalyard")
DEFAULT_TARGET = "duckdb"
REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
LEAN_ALGORITHMS_DIR = REPO_ROOT / "lean_algorithms"


@dataclass(frozen=True)
class Settings:
    """Paths and the engine target; every other module receives one of these."""

    home: Path
    lake: str
    target: str = DEFAULT_TARGET
    warehouse_path: Path | None = None
    dbt_project_dir: Path = DBT_PROJECT_DIR

    @classmethod
    def from_env(
        cls,
        home: str | os.PathLike[str] | None = None,
        lake: str | None = None,
        target: str | None = None,
    ) -> Settings:
        """Build settings from arguments, then `SIGNALYARD_*` env vars, then defaults."""
        home_path = Path(home or os.environ.get("SIGNALYARD_HOME") or DEFAULT_HOME).resolve()
        lake_url = lake or os.environ.get("SIGNALYARD_LAKE") or str(home_path / "lake")
        warehouse = os.environ.get("SIGNALYARD_WAREHOUSE")
        return cls(
            home=home_path,
            lake=lake_url,
            target=target or os.environ.get("SIGNALYARD_TARGET") or DEFAULT_TARGET,
            warehouse_path=Path(warehouse).resolve() if warehouse else None,
        )

    @property
    def duckdb_path(self) -> Path:
        """The DuckDB warehouse file."""
        return self.warehouse_path or self.home / "warehouse.duckdb"

    @property
    def lean_workspace(self) -> Path:
        """Where `export lean` writes the LEAN CLI workspace by default."""
        return self.home / "lean"

    @property
    def reports_dir(self) -> Path:
        """Where run reports are written."""
        return self.home / "reports"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target/ folder, kept per home so scratch warehouses don't collide."""
        return self.home / "dbt_target"

    def with_warehouse(self, path: Path) -> Settings:
        """The same settings pointed at another warehouse file (replay scratch)."""
        return replace(self, warehouse_path=path)
