"""Runners: apply the registered feature definitions inside one warehouse engine each.

Engine-specific code lives here only; the features themselves (`udfs.registry`,
`udfs.builtin`) are engine-free, so a Spark or PostgreSQL runner reuses them as they are.
Import a runner by its module, e.g. `from udfs.runners.duckdb import run_features`.
"""
