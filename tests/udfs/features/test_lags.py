"""`<column>_lag_<k>`: the column k bars back, causal, warm-up = base warm-up + k."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from udfs import compute_features, find_lookahead, lag_feature, register_lags, resolve


@pytest.fixture
def bars(random_walk_bars):
    """600 minute bars."""
    return random_walk_bars(600, seed=21)


@pytest.mark.parametrize(
    ("column", "k", "warmup"),
    [("close", 1, 1), ("volume", 3, 3), ("rsi_14", 1, 15), ("trend_macd_signal", 5, 38)],
)
def test_lag_is_the_column_k_bars_earlier(bars, restore_registry, column, k, warmup):
    spec = lag_feature(column, k)
    assert spec.name == f"{column}_lag_{k}" and list(spec.outputs) == [spec.name]
    assert spec.causal and spec.warmup == warmup
    register_lags([column], [k])
    out = compute_features(bars, [spec.name] if column in bars else [spec.name, column])
    base = bars[column] if column in bars else out[column]
    np.testing.assert_array_equal(out[spec.name].to_numpy(), base.shift(k).to_numpy())
    values = out[spec.name].to_numpy()
    assert np.isnan(values[:warmup]).all() and not np.isnan(values[warmup:]).any()


def test_lag_inputs_are_the_base_feature_inputs():
    assert lag_feature("cci", 2).inputs == ("high", "low", "close")
    assert lag_feature("open", 2).inputs == ("open",)
    assert lag_feature("volatility_bbw", 2).warmup == 21


def test_register_lags_registers_every_column_and_k(restore_registry):
    specs = register_lags(["close", "rsi_14"], [1, 2])
    assert [spec.name for spec in specs] == [
        "close_lag_1",
        "close_lag_2",
        "rsi_14_lag_1",
        "rsi_14_lag_2",
    ]
    assert resolve(["rsi_14_lag_2"])["rsi_14_lag_2"] == specs[-1]


def test_lag_features_are_causal(bars):
    for spec in (lag_feature("close", 1), lag_feature("trend_stc", 7)):
        assert find_lookahead(spec, bars, cutoffs=[0, 5, 80, 300, 598]) == []


def test_lag_spec_pickles_for_worker_processes(bars):
    spec = lag_feature("adx", 2)
    clone = pickle.loads(pickle.dumps(spec))
    assert clone == spec
    np.testing.assert_array_equal(clone.func(bars)["adx_lag_2"], spec.func(bars)["adx_lag_2"])


@pytest.mark.parametrize(
    ("column", "k"), [("nope", 1), ("close", 0), ("close", -1), ("close", True)]
)
def test_bad_lags_are_refused(column, k):
    with pytest.raises(ValueError, match="cannot lag 'nope'|lag k must be"):
        lag_feature(column, k)
