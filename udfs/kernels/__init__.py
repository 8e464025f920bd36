"""numba kernels behind the built-in features: one module per kind of computation.

`rolling` (window sums, means, extremes), `variance` (rolling variance), `smoothing`
(pandas EWM, TA-Lib EMA), `pairwise` (numpy's summation order), `talib` (TA-Lib-compatible
indicators) and one module per `ta` group (`volume`, `volatility`, `trend`, `momentum`).
Every kernel is compiled by `jit.jit`: lazily, cached on disk, GIL released.
"""
