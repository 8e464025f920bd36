"""The LMW pattern kernels: the smoother, extrema, pattern rules, and a per-bar reference."""

from __future__ import annotations

import numpy as np
import pytest

from udfs.kernels.patterns import (
    AGE_ROW,
    FLAT_STEP,
    PATTERNS,
    double_patterns,
    find_extrema,
    five_extrema_patterns,
    lmw_patterns,
    smooth_window,
    smoothing_matrix,
)

WINDOW, LAG, TOL, RECT_TOL, SEPARATION = 38, 3, 0.015, 0.0075, 22


def nadaraya_watson(y: np.ndarray, bandwidth: float) -> np.ndarray:
    """Direct Nadaraya-Watson regression of y on its index, Gaussian kernel."""
    index = np.arange(len(y), dtype=float)
    out = np.empty(len(y))
    for i in index.astype(int):
        kernel = np.exp(-0.5 * ((i - index) / bandwidth) ** 2)
        out[i] = np.sum(kernel * y) / np.sum(kernel)
    return out


def reference_extrema(m: np.ndarray, y: np.ndarray) -> list[tuple[int, int, float]]:
    """(position, kind, raw price) of each sign change of diff(m), flat steps skipped."""
    steps = np.diff(m)
    steps = np.where(np.abs(steps) <= FLAT_STEP * abs(y[-1]), 0.0, np.sign(steps))
    found, sign = [], 0
    for i, now in enumerate(steps, start=1):
        if now == 0:
            continue
        if sign and now != sign:
            near = y[max(i - 2, 0) : min(i + 1, len(y))]
            found.append((i - 1, int(sign), float(near.max() if sign > 0 else near.min())))
        sign = now
    return found


def near(values: list[float], tolerance: float) -> bool:
    """Every value within `tolerance` x their mean of the mean."""
    mean = float(np.mean(values))
    return all(abs(v - mean) <= tolerance * abs(mean) for v in values)


def reference_flags(extrema: list[tuple[int, int, float]]) -> set[str]:
    """LMW's rules on a window's extrema (final extremum already checked to be `LAG` old)."""
    flags = set()
    if len(extrema) >= 5:
        kinds = extrema[-5][1]
        e1, e2, e3, e4, e5 = (price for _, _, price in extrema[-5:])
        pairs = near([e1, e5], TOL) and near([e2, e4], TOL)
        flat = near([e1, e3, e5], RECT_TOL) and near([e2, e4], RECT_TOL)
        if kinds > 0:
            flags |= {"hs"} if e3 > max(e1, e5) and pairs else set()
            flags |= {"btop"} if e1 < e3 < e5 and e2 > e4 else set()
            flags |= {"ttop"} if e1 > e3 > e5 and e2 < e4 else set()
            flags |= {"rtop"} if flat and min(e1, e3, e5) > max(e2, e4) else set()
        else:
            flags |= {"ihs"} if e3 < min(e1, e5) and pairs else set()
            flags |= {"bbot"} if e1 > e3 > e5 and e2 < e4 else set()
            flags |= {"tbot"} if e1 < e3 < e5 and e2 > e4 else set()
            flags |= {"rbot"} if flat and min(e2, e4) > max(e1, e3, e5) else set()
    if len(extrema) >= 3:
        (t1, k1, p1), (tn, kn, pn) = extrema[0], extrema[-1]
        later = [price for _, _, price in extrema[1:]]
        highest = pn == (max(later) if k1 > 0 else min(later))
        if k1 == kn and tn - t1 > SEPARATION and highest and near([p1, pn], TOL):
            flags.add("dtop" if k1 > 0 else "dbot")
    return flags


def reference_patterns(close: np.ndarray, bandwidth: float) -> np.ndarray:
    """The whole detector, bar by bar, in plain numpy/Python."""
    out = np.full((AGE_ROW + 1, len(close)), np.nan)
    for t in range(WINDOW - 1, len(close)):
        y = close[t - WINDOW + 1 : t + 1]
        if np.isnan(y).any():
            continue
        extrema = reference_extrema(nadaraya_watson(y, bandwidth), y)
        age = WINDOW - 1 - extrema[-1][0] if extrema else WINDOW
        flags = reference_flags(extrema) if age == LAG else set()
        out[:AGE_ROW, t] = [1.0 if name in flags else 0.0 for name in PATTERNS]
        out[AGE_ROW, t] = age
    return out


def walk(n: int, sigma: float, seed: int) -> np.ndarray:
    """Seeded geometric random walk around 100."""
    return 100.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0.0, sigma, n)))


@pytest.mark.parametrize("bandwidth", [0.5, 1.52, 3.0, 10.0])
@pytest.mark.parametrize("size", [3, 38, 60])
def test_smoother_matches_a_direct_nadaraya_watson(bandwidth, size):
    y = walk(size, 0.01, size)
    got = np.empty(size)
    smooth_window(y, smoothing_matrix(size, bandwidth), got)
    np.testing.assert_allclose(got, nadaraya_watson(y, bandwidth), rtol=1e-10, atol=0.0)


def test_smoothing_matrix_columns_are_normalized_kernel_weights():
    weights = smoothing_matrix(38, 1.52)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-14)
    assert weights[10, 10] > weights[11, 10] > weights[14, 10] > 0.0
    with pytest.raises(ValueError, match="window must be"):
        smoothing_matrix(2, 1.0)
    with pytest.raises(ValueError, match="bandwidth must be"):
        smoothing_matrix(38, 0.0)


def test_extrema_are_sign_changes_mapped_to_the_raw_extreme_nearby():
    m = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 1.0, 2.0, 1.5])
    y = np.array([1.0, 2.5, 2.9, 3.4, 2.0, 0.7, 1.2, 2.0, 1.5])
    size = len(m)
    positions = np.empty(size, dtype=np.int64)
    kinds = np.empty(size, dtype=np.int64)
    prices = np.empty(size)
    count = find_extrema(m, y, 0.0, positions, kinds, prices)
    # The plateau's max is its last point (3); the flat bottom's min is its last point (6).
    assert count == 3
    assert positions[:count].tolist() == [3, 6, 7]
    assert kinds[:count].tolist() == [1, -1, 1]
    assert prices[:count].tolist() == [3.4, 0.7, 2.0]
    assert find_extrema(np.arange(5.0), np.arange(5.0), 0.0, positions, kinds, prices) == 0
    # Steps within +-flat are no turn: a 1e-13 wiggle on a level of 1 is not an extremum.
    wiggle = 1.0 + np.array([0.0, 1e-13, 0.0, 1e-13, 0.0])
    assert find_extrema(wiggle, wiggle, 1e-12, positions, kinds, prices) == 0
    assert find_extrema(wiggle, wiggle, 0.0, positions, kinds, prices) == 3


@pytest.mark.parametrize(
    ("prices", "first_is_max", "expected"),
    [
        ([100, 95, 106, 95.3, 100.5], True, {"hs"}),
        ([100, 105, 94, 104.7, 99.5], False, {"ihs"}),
        ([100, 96, 103, 93, 106], True, {"btop"}),
        ([100, 104, 97, 107, 94], False, {"bbot"}),
        ([106, 93, 103, 96, 100], True, {"ttop"}),
        ([94, 107, 97, 104, 100], False, {"tbot"}),
        ([100, 96, 99.8, 96.3, 100.2], True, {"rtop"}),
        ([100, 104, 100.2, 104.3, 99.8], False, {"rbot"}),
        # Shoulders 3.1% apart: not a head-and-shoulders.
        ([100, 95, 106, 95.3, 103.1], True, set()),
        # Tops 1.9% apart: not a rectangle (nor anything else).
        ([100, 96, 99.0, 96.3, 100.9], True, set()),
    ],
)
def test_five_extrema_rules_are_lmws(prices, first_is_max, expected):
    flags = np.zeros(AGE_ROW)
    five_extrema_patterns(np.array(prices, float), first_is_max, TOL, RECT_TOL, flags)
    assert {name for name, flag in zip(PATTERNS, flags, strict=True) if flag} == expected


@pytest.mark.parametrize(
    ("positions", "kinds", "prices", "expected"),
    [
        ([5, 18, 30], [1, -1, 1], [100, 94, 100.8], {"dtop"}),
        ([5, 18, 30], [-1, 1, -1], [100, 106, 99.2], {"dbot"}),
        ([5, 18, 27], [1, -1, 1], [100, 94, 100.8], set()),  # tops only 22 bars apart
        ([5, 18, 30], [1, -1, 1], [100, 94, 104], set()),  # tops 4% apart
        ([3, 10, 20, 26, 34], [1, -1, 1, -1, 1], [100, 94, 101.2, 95, 100.8], set()),  # not highest
    ],
)
def test_double_top_and_bottom_rules_are_lmws(positions, kinds, prices, expected):
    flags = np.zeros(AGE_ROW)
    count = len(positions)
    double_patterns(
        np.array(positions), np.array(kinds), np.array(prices, float), count, TOL, 22, flags
    )
    assert {name for name, flag in zip(PATTERNS, flags, strict=True) if flag} == expected


@pytest.mark.parametrize(("sigma", "seed"), [(1e-3, 1), (1.5e-2, 2)])
def test_detector_matches_a_bar_by_bar_numpy_reference(sigma, seed):
    close = walk(3000, sigma, seed)
    close[1500] = np.nan
    got = lmw_patterns(close, smoothing_matrix(WINDOW, 1.52), LAG, TOL, RECT_TOL, SEPARATION)
    want = reference_patterns(close, 1.52)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[:, : WINDOW - 1]).all() and np.isnan(got[:, 1500 : 1500 + WINDOW]).all()
    # The comparison covers detections, not only zeros.
    assert (got[:AGE_ROW] == 1.0).sum() > 20


def test_perturbing_later_closes_leaves_earlier_outputs_unchanged():
    close = walk(2000, 1e-2, 9)
    weights = smoothing_matrix(WINDOW, 1.52)
    base = lmw_patterns(close, weights, LAG, TOL, RECT_TOL, SEPARATION)
    for cutoff in [0, 36, 37, 38, 500, 1998]:
        moved = close.copy()
        moved[cutoff + 1 :] *= np.random.default_rng(cutoff).uniform(0.5, 1.5, 1999 - cutoff)
        after = lmw_patterns(moved, weights, LAG, TOL, RECT_TOL, SEPARATION)
        np.testing.assert_array_equal(after[:, : cutoff + 1], base[:, : cutoff + 1])
        assert not np.array_equal(after[:, cutoff + 1 :], base[:, cutoff + 1 :], equal_nan=True)


@pytest.mark.parametrize("level", [50.0, 0.1, 12345.678])
def test_flat_closes_have_no_extremum_and_age_window(level):
    close = np.full(200, level)
    close[150:] = level * 1.01  # one step: the flat stretch after it is flat again
    out = lmw_patterns(close, smoothing_matrix(WINDOW, 1.52), LAG, TOL, RECT_TOL, SEPARATION)
    assert (out[AGE_ROW, WINDOW - 1 : 150] == WINDOW).all()
    assert (out[AGE_ROW, 150 + WINDOW :] == WINDOW).all()
    assert (out[:AGE_ROW, WINDOW - 1 :] == 0.0).all()
