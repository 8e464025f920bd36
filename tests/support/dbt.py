"""Running the real dbt project in its own process against a scratch DuckDB file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from warehouse.settings import DBT_PROJECT_DIR


def run_dbt(
    command: str, warehouse: Path, work: Path, select: str, as_of: str | None = None
) -> dict[str, Any]:
    """Run dbt in its own process (dbt-duckdb keeps the file open); {unique_id: result}."""
    target = work / "target"
    (target / "run_results.json").unlink(missing_ok=True)
    process = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            command,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(work / "logs"),
            "--select",
            select,
            "--vars",
            json.dumps({"duckdb_path": str(warehouse), "as_of": as_of}),
        ],
        env={
            **{k: v for k, v in os.environ.items() if k != "DBT_INDIRECT_SELECTION"},
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    results_path = target / "run_results.json"
    if not results_path.exists():
        raise AssertionError(f"dbt {command} did not run:\n{process.stdout}\n{process.stderr}")
    return {r["unique_id"]: r for r in json.loads(results_path.read_text())["results"]}
