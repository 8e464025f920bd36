"""Assets, one module per domain of the data flow."""
