"""Dagster definitions, the `signalyard` command line and the point-in-time replay harness."""
