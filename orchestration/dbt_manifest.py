"""The dbt manifest that @dbt_assets read at import time, (re)parsed when stale."""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.settings import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
_WATCHED = ("models", "macros", "tests", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime(project: Path) -> float:
    mtimes = []
    for name in _WATCHED:
        path = project / name
        files = [path] if path.is_file() else list(path.rglob("*")) if path.exists() else []
        mtimes.extend(f.stat().st_mtime for f in files if f.is_file())
    return max(mtimes, default=0.0)


def ensure_manifest(project: Path = DBT_PROJECT_DIR) -> Path:
    """Run `dbt parse` if the manifest is missing or older than the project's files."""
    manifest = project / "target" / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project):
        return manifest
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(project / "target"),
        ]
    )
    if not result.success:
        raise RuntimeError(f"dbt parse failed for {project}: {result.exception}")
    return manifest
