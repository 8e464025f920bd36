"""Helpers shared by tests: throwaway engines (PostgreSQL cluster, local Spark session)."""
