"""numpy_sum and block_sum add in numpy's pairwise order, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from udfs.kernels.pairwise import block_sum, numpy_sum


@pytest.mark.parametrize("count", [0, 1, 7, 8, 20, 127, 128, 129, 1000, 4097, 100_003])
def test_numpy_sum_is_bit_identical_to_np_sum(count):
    x = np.random.default_rng(count).normal(0, 1e3, count + 9)
    assert numpy_sum(x, 5, count) == np.sum(x[5 : 5 + count])


@pytest.mark.parametrize("count", [1, 9, 20, 128])
def test_block_sum_is_numpy_sum_up_to_128_values(count):
    x = np.random.default_rng(count).lognormal(0, 3, 200)
    assert block_sum(x, 3, count) == np.sum(x[3 : 3 + count])


def test_np_mean_of_equal_values_is_reproduced_even_when_inexact():
    x = np.full(20, 100.1)
    assert numpy_sum(x, 0, 20) / 20 == np.mean(x)
