"""One adapter per warehouse engine; DuckDB is the embedded default."""
