"""One-pass ultimate oscillator and Donchian kernels equal their step-by-step references.

The references spell out the documented arithmetic (NaN-skipping running sums with
counts, re-summed newest first every RESUM_EVERY rows; the rolling mean kernel), so
any reordering of a floating-point operation in the fused kernels shows up as a
difference in the last bit. NaN is compared as NaN whatever its sign bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from udfs.kernels.momentum import ultimate_oscillator
from udfs.kernels.rolling import RESUM_EVERY, rolling_max, rolling_mean, rolling_min
from udfs.kernels.volatility import donchian

PERIODS = [(7, 14, 28), (1, 2, 3), (2, 2, 2), (3, 5, 40), (5, 9, RESUM_EVERY + 76)]


def _window_sum(values: list[float], row: int, length: int) -> float:
    """Sum of the non-NaN values of rows row, row - 1, ... (newest first, length rows)."""
    total = 0.0
    for k in range(row, max(row - length, -1), -1):
        if values[k] == values[k]:
            total += values[k]
    return total


def reference_uo(high, low, close, short: int, medium: int, long: int) -> np.ndarray:
    """ta's ultimate oscillator, one NaN-skipping running sum and count per window."""
    n = close.shape[0]
    pressures: list[float] = []
    ranges: list[float] = []
    for i in range(n):
        bar_range = float(high[i] - low[i])
        pressure = math.nan
        if i > 0 and not math.isnan(close[i - 1]):
            previous = float(close[i - 1])
            pressure = float(close[i]) - min(float(low[i]), previous)
            bar_range = max(bar_range, abs(high[i] - previous), abs(low[i] - previous))
        pressures.append(pressure)
        ranges.append(float(bar_range))
    windows = (short, medium, long)
    sums = [[0.0, 0], [0.0, 0], [0.0, 0], [0.0, 0], [0.0, 0], [0.0, 0]]
    out = np.empty(n)
    for i in range(n):
        ratios = []
        for w, length in enumerate(windows):
            for s, series in ((2 * w, pressures), (2 * w + 1, ranges)):
                total, count = sums[s]
                if i >= length and series[i - length] == series[i - length]:
                    total -= series[i - length]
                    count -= 1
                if series[i] == series[i]:
                    total += series[i]
                    count += 1
                if (i + 1) % RESUM_EVERY == 0:
                    total = _window_sum(series, i, length)
                sums[s] = [total, count]
            (p, np_), (r, nr) = sums[2 * w], sums[2 * w + 1]
            defined = np_ >= length and nr >= length
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.float64(p) / np.float64(r)
            ratios.append(ratio if defined else math.nan)
        fast, mid, slow = ratios
        out[i] = 100.0 * ((4.0 * fast) + (2.0 * mid) + (1.0 * slow)) / 7.0
    return out


def bars(n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(high, low, close) bars whose prices span many binades.

    Prices near one level differ by values with few significant bits, whose sums are
    exact in any order; spread prices make every reordered addition round differently.
    """
    rng = np.random.default_rng(seed)
    close = np.exp(rng.normal(0, 3, n))
    return close * rng.uniform(1, 2, n), close * rng.uniform(0.1, 1, n), close


def bars_with_gaps(n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bars with scattered NaN in each column, a NaN run in each and a flat stretch."""
    high, low, close = bars(n, seed=12)
    rng = np.random.default_rng(13)
    for column in (high, low, close):
        column[rng.integers(0, n, 20)] = np.nan
    high[1000:1100], low[1000:1100], close[1000:1100] = high[999], low[999], close[999]
    high[1500:1540] = np.nan
    low[1020:1030] = np.nan
    close[2200:2240] = np.nan
    return high, low, close


def bars_with_infinities() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gapped bars with +inf and -inf in every column."""
    high, low, close = bars_with_gaps()
    high[[50, 2400]] = np.inf
    low[[60, 2500]] = -np.inf
    close[70] = np.inf
    close[2600] = -np.inf
    return high, low, close


def flat_bars(n: int = 2500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every price equal: zero ranges, so 0 / 0 ratios."""
    return np.full(n, 5.0), np.full(n, 5.0), np.full(n, 5.0)


def signed_zero_bars(n: int = 2500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero prices, some of them -0.0: sums of zeros must keep their sign as before."""
    zeros = np.zeros(n)
    zeros[::7] = -0.0
    return zeros, zeros.copy(), -zeros


def all_nan_bars(n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """No price at all."""
    return np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)


CASES = {
    "clean": lambda: bars(2 * RESUM_EVERY + 300),
    "gaps": bars_with_gaps,
    "infinities": bars_with_infinities,
    "flat": flat_bars,
    "signed_zeros": signed_zero_bars,
    "all_nan": all_nan_bars,
}


def assert_same_bits(got: np.ndarray, want: np.ndarray) -> None:
    """Equal shapes, NaN at the same rows, every other value equal bit for bit."""
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    defined = ~np.isnan(want)
    np.testing.assert_array_equal(got[defined].view(np.int64), want[defined].view(np.int64))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("periods", PERIODS)
def test_ultimate_oscillator_is_bit_identical_to_running_sum_reference(case, periods):
    high, low, close = CASES[case]()
    got = ultimate_oscillator(high, low, close, *periods)
    assert_same_bits(got, reference_uo(high, low, close, *periods))


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 28, 29])
def test_ultimate_oscillator_on_short_series_matches_reference(n):
    high, low, close = bars(n)
    got = ultimate_oscillator(high, low, close, 7, 14, 28)
    assert_same_bits(got, reference_uo(high, low, close, 7, 14, 28))
    assert np.isnan(got[:28]).all()  # bar 0 has no buying pressure


def test_ultimate_oscillator_is_nan_while_a_gap_is_in_the_long_window():
    high, low, close = bars(200)
    close[100] = np.nan  # bars 100 and 101 lose their pressure, 101 its true range too
    got = ultimate_oscillator(high, low, close, 7, 14, 28)
    assert np.isnan(got[100 : 101 + 28]).all()
    assert not np.isnan(got[101 + 28 :]).any()
    assert not np.isnan(got[28:100]).any()


def donchian_reference(high, low, close, window: int) -> tuple[np.ndarray, ...]:
    """Donchian's five outputs from the separate rolling max, min and mean kernels."""
    upper = rolling_max(high, window, window)
    lower = rolling_min(low, window, window)
    mean = rolling_mean(close, window, window)
    gap = upper - lower
    with np.errstate(invalid="ignore", divide="ignore"):
        return lower, upper, (gap / 2.0) + lower, (gap / mean) * 100, (close - lower) / gap


@pytest.mark.parametrize("case", sorted(set(CASES) - {"signed_zeros"}))
@pytest.mark.parametrize("window", [1, 3, 20, RESUM_EVERY + 30])
def test_donchian_is_bit_identical_to_rolling_kernels(case, window):
    high, low, close = CASES[case]()
    got = donchian(high, low, close, window)
    for out, expected in zip(got, donchian_reference(high, low, close, window), strict=True):
        assert_same_bits(out, expected)


@pytest.mark.parametrize("window", [1, 3, 20])
def test_donchian_on_signed_zeros_equals_rolling_kernels(window):
    # max(-0.0, 0.0) may be either zero (they compare equal), so values, not bits
    high, low, close = signed_zero_bars()
    got = donchian(high, low, close, window)
    for out, expected in zip(got, donchian_reference(high, low, close, window), strict=True):
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("n", [0, 1, 19, 20, 21])
def test_donchian_on_short_series_matches_rolling_kernels(n):
    high, low, close = bars(n)
    got = donchian(high, low, close, 20)
    assert_same_bits(got[1], rolling_max(high, 20, 20))
    assert_same_bits(got[3], (got[1] - got[0]) / rolling_mean(close, 20, 20) * 100)
    assert np.isnan(got[0][:19]).all()
