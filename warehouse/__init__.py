"""Storage, landing and loading: everything below the dbt project."""
