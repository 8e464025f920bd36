"""Built-in feature declarations: `ta`'s full set, TA-Lib-compatible short names, lags."""
