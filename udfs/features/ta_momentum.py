"""`ta.add_momentum_ta` and `ta.add_others_ta` columns (ta 0.11), as causal numba kernels."""

from __future__ import annotations

import pandas as pd

from udfs.features.common import Arrays, column, declare, defined
from udfs.kernels import momentum as kernels
from udfs.kernels.smoothing import com_of_alpha

HL = ("high", "low")
HLC = ("high", "low", "close")
# pandas' centre of mass for ewm(alpha=1/14), which ta's RSI uses.
RSI_COM = com_of_alpha(1 / 14)


def _rsi(bars: pd.DataFrame) -> Arrays:
    """ta's RSI (14) and the stochastic RSI (14, 3, 3) built on it."""
    rsi = kernels.rsi_ta(column(bars, "close"), 14, RSI_COM)
    ratio, k, d = kernels.stoch_rsi(rsi, 14, 3, 3)
    return defined(
        momentum_rsi=rsi, momentum_stoch_rsi=ratio, momentum_stoch_rsi_k=k, momentum_stoch_rsi_d=d
    )


def _tsi(bars: pd.DataFrame) -> Arrays:
    """True strength index (25, 13)."""
    return defined(momentum_tsi=kernels.tsi(column(bars, "close"), 25, 13))


def _uo(bars: pd.DataFrame) -> Arrays:
    """Ultimate oscillator (7, 14, 28)."""
    h, lo, c = (column(bars, name) for name in HLC)
    return defined(momentum_uo=kernels.ultimate_oscillator(h, lo, c, 7, 14, 28))


def _stoch(bars: pd.DataFrame) -> Arrays:
    """Stochastic %K (14) and its 3-bar signal."""
    h, lo, c = (column(bars, name) for name in HLC)
    k, signal = kernels.stochastic(h, lo, c, 14, 3)
    return defined(momentum_stoch=k, momentum_stoch_signal=signal)


def _wr(bars: pd.DataFrame) -> Arrays:
    """Williams %R, 14 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    return defined(momentum_wr=kernels.williams_r(h, lo, c, 14))


def _ao(bars: pd.DataFrame) -> Arrays:
    """Awesome oscillator (5, 34)."""
    return defined(
        momentum_ao=kernels.awesome_oscillator(column(bars, "high"), column(bars, "low"), 5, 34)
    )


def _roc(bars: pd.DataFrame) -> Arrays:
    """Rate of change, 12 bars."""
    return defined(momentum_roc=kernels.roc(column(bars, "close"), 12))


def _ppo(bars: pd.DataFrame) -> Arrays:
    """Percentage price oscillator (12, 26, 9)."""
    line, signal, hist = kernels.percentage_oscillator(column(bars, "close"), 12, 26, 9)
    return defined(momentum_ppo=line, momentum_ppo_signal=signal, momentum_ppo_hist=hist)


def _pvo(bars: pd.DataFrame) -> Arrays:
    """Percentage volume oscillator (12, 26, 9)."""
    line, signal, hist = kernels.percentage_oscillator(column(bars, "volume"), 12, 26, 9)
    return defined(momentum_pvo=line, momentum_pvo_signal=signal, momentum_pvo_hist=hist)


def _kama(bars: pd.DataFrame) -> Arrays:
    """Kaufman adaptive moving average (10, 2, 30)."""
    return defined(momentum_kama=kernels.kama(column(bars, "close"), 10, 2, 30))


def _returns(bars: pd.DataFrame) -> Arrays:
    """Simple, log and cumulative returns of close, in %."""
    simple, log_return, cumulative = kernels.returns(column(bars, "close"))
    return defined(others_dr=simple, others_dlr=log_return, others_cr=cumulative)


TA_MOMENTUM_FEATURES = (
    declare(
        "ta_rsi",
        ("close",),
        {
            "momentum_rsi": 13,
            "momentum_stoch_rsi": 26,
            "momentum_stoch_rsi_k": 28,
            "momentum_stoch_rsi_d": 30,
        },
        _rsi,
    ),
    declare("momentum_tsi", ("close",), {"momentum_tsi": 37}, _tsi),
    declare("momentum_uo", HLC, {"momentum_uo": 28}, _uo),
    declare("ta_stoch", HLC, {"momentum_stoch": 13, "momentum_stoch_signal": 15}, _stoch),
    declare("momentum_wr", HLC, {"momentum_wr": 13}, _wr),
    declare("momentum_ao", HL, {"momentum_ao": 33}, _ao),
    declare("momentum_roc", ("close",), {"momentum_roc": 12}, _roc),
    declare(
        "ta_ppo",
        ("close",),
        {"momentum_ppo": 25, "momentum_ppo_signal": 33, "momentum_ppo_hist": 33},
        _ppo,
    ),
    declare(
        "ta_pvo",
        ("volume",),
        {"momentum_pvo": 25, "momentum_pvo_signal": 33, "momentum_pvo_hist": 33},
        _pvo,
    ),
    declare("momentum_kama", ("close",), {"momentum_kama": 9}, _kama),
    declare("ta_returns", ("close",), {"others_dr": 1, "others_dlr": 1, "others_cr": 0}, _returns),
)
