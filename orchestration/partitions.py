"""Partitions, defined once and imported: one partition per UTC day."""

from dagster import DailyPartitionsDefinition

# Daily partitions of the vendor connectors: partition D lands bars opening in [D, D + 1 day).
daily_partitions = DailyPartitionsDefinition(start_date="2020-01-01", timezone="UTC")
