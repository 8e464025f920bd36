"""Runners: apply the registered feature definitions inside one warehouse engine each.

Engine-specific code lives here only; the features themselves (`udfs.registry`,
`udfs.builtin`) are engine-free, and every runner computes a partition with the same
function (`udfs.runners.partition`). Import a runner by its module, e.g.
`from udfs.runners.duckdb import run_features`, or pick it from a settings target with
`runner_for(settings.target)`; engine client libraries are imported only by their runner.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# Settings.target -> the module whose `run_features(connection, source, target, names)` runs there.
RUNNER_MODULES = {
    "duckdb": "udfs.runners.duckdb",
    "postgres": "udfs.runners.postgres",
    "spark": "udfs.runners.spark",
    "snowflake": "udfs.runners.snowflake",
}


def runner_for(target: str) -> Callable[..., int]:
    """The `run_features` of the engine a settings target names (`duckdb`, `postgres`, ...)."""
    try:
        module = RUNNER_MODULES[target]
    except KeyError:
        raise ValueError(
            f"no feature runner for target {target!r}; known targets: {sorted(RUNNER_MODULES)}"
        ) from None
    return importlib.import_module(module).run_features
