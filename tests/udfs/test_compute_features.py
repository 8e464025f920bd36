"""`udfs.compute_features`: the Python API contract (columns, index, validation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import udfs
from udfs import (
    FeatureSpec,
    compute_features,
    get_feature,
    output_columns,
    register_feature,
    required_columns,
    resolve,
)
from udfs.indicators import cci, macd, rsi

ALL_COLUMNS = output_columns()


@pytest.fixture
def bars(random_walk_bars) -> pd.DataFrame:
    """500 minute bars."""
    return random_walk_bars(500, seed=3)


def test_all_outputs_by_default_on_the_same_index(bars):
    out = compute_features(bars)
    assert list(out.columns) == ALL_COLUMNS
    assert ALL_COLUMNS[:5] == ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
    assert len(ALL_COLUMNS) == 116  # 104 ta/TA-Lib columns, fracdiff, 11 pattern columns
    assert out.index.equals(bars.index)
    assert (out.dtypes == np.float64).all()
    assert udfs.compute_features is compute_features


def test_values_are_the_indicator_functions(bars):
    out = compute_features(bars)
    close = bars["close"].to_numpy()
    np.testing.assert_array_equal(out["rsi_14"].to_numpy(), rsi(close, 14))
    for column, values in zip(["macd", "macdsignal", "macdhist"], macd(close), strict=True):
        np.testing.assert_array_equal(out[column].to_numpy(), values)
    expected_cci = cci(bars["high"].to_numpy(), bars["low"].to_numpy(), close, 14)
    np.testing.assert_array_equal(out["cci"].to_numpy(), expected_cci)


@pytest.mark.parametrize(
    ("names", "columns"),
    [
        (["macdsignal"], ["macdsignal"]),
        (["cci", "rsi_14"], ["cci", "rsi_14"]),
        ("rsi_14", ["rsi_14"]),
        (["macd_12_26_9"], ["macd", "macdsignal", "macdhist"]),
        (["macd"], ["macd"]),
        (("cci", "cci"), ["cci"]),
        ([], []),
    ],
)
def test_names_select_output_columns_or_whole_features(bars, names, columns):
    out = compute_features(bars, names)
    assert list(out.columns) == columns
    assert out.index.equals(bars.index)


def test_unknown_names_raise_listing_known_ones(bars):
    with pytest.raises(ValueError, match=r"unknown feature names \['rsi'\].*known output columns"):
        compute_features(bars, ["rsi"])


def test_missing_columns_are_listed_with_received_and_expected(bars):
    with pytest.raises(ValueError) as error:
        compute_features(bars.drop(columns=["close", "volume"]))
    message = str(error.value)
    assert "missing columns ['close', 'volume']" in message
    assert "received columns ['open', 'high', 'low']" in message
    assert "expected columns ['open', 'high', 'low', 'close', 'volume']" in message


def test_extra_inputs_of_a_custom_feature_are_required(bars, restore_registry):
    register_feature(
        FeatureSpec(
            name="vwap_gap",
            inputs=("close", "vwap"),
            outputs={"vwap_gap": "double"},
            warmup=0,
            causal=True,
            func=lambda frame: {"vwap_gap": frame["close"] - frame["vwap"]},
        )
    )
    assert required_columns(["vwap_gap"]) == ["open", "high", "low", "close", "volume", "vwap"]
    with pytest.raises(ValueError, match=r"missing columns \['vwap'\]"):
        compute_features(bars, ["vwap_gap"])
    out = compute_features(bars.assign(vwap=bars["close"] - 1.0), ["vwap_gap"])
    np.testing.assert_allclose(out["vwap_gap"].to_numpy(), 1.0)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b.iloc[::-1], "strictly ascending: row 1"),
        (lambda b: b.iloc[[0, 1, 1, 2]], "strictly ascending: row 2"),
        (lambda b: b.reset_index(drop=True), "DatetimeIndex"),
        (lambda b: b.tz_convert("America/New_York"), "UTC"),
        (lambda b: b["close"], "DataFrame"),
    ],
)
def test_bad_index_or_input_raises(bars, mangle, message):
    with pytest.raises(ValueError, match=message):
        compute_features(mangle(bars))


def test_naive_index_is_taken_as_utc(bars):
    naive = bars.tz_localize(None)
    out = compute_features(naive)
    assert out.index.equals(naive.index)
    np.testing.assert_array_equal(out.to_numpy(), compute_features(bars).to_numpy())


def test_empty_and_short_bars_give_nan_columns(bars):
    empty = compute_features(bars.iloc[:0])
    assert list(empty.columns) == ALL_COLUMNS and len(empty) == 0
    short = compute_features(bars.iloc[:10])
    assert len(short) == 10
    for column, spec in resolve(None).items():
        warmup = spec.warmup_of(column)
        assert short[column].iloc[:warmup].isna().all(), column
        assert short[column].iloc[warmup:].notna().all() or column.startswith("trend_psar_")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_one_to_three_bars_compute_without_error(bars, n):
    out = compute_features(bars.iloc[:n])
    assert out.shape == (n, len(ALL_COLUMNS))
    assert out["others_cr"].iloc[0] == 0.0 and out["volume_nvi"].iloc[0] == 1000.0


def test_result_shares_no_memory_with_the_bars_or_itself(bars, restore_registry):
    def echo(frame):
        close = frame["close"].to_numpy()
        return {"echo_a": close, "echo_b": close}

    register_feature(
        FeatureSpec("echo", ("close",), {"echo_a": "double", "echo_b": "double"}, 0, True, echo)
    )
    out = compute_features(bars, ["echo_a", "echo_b", "rsi_14"])
    close = bars["close"].to_numpy()
    for column in out.columns:
        assert not np.shares_memory(out[column].to_numpy(), close)
    assert not np.shares_memory(out["echo_a"].to_numpy(), out["echo_b"].to_numpy())
    out.iloc[0, 0] = -1.0
    assert bars["close"].iloc[0] > 0 and out["echo_b"].iloc[0] == close[0]


def test_inf_from_a_division_by_zero_is_returned_as_nan(bars):
    flat = bars.copy()
    flat.iloc[100:200, :4] = 50.0
    flat.iloc[100:200, 4] = 0.0
    out = compute_features(flat, get_feature("ta_keltner").name)
    assert not np.isinf(out.to_numpy()).any()
    assert out["volatility_kcp"].iloc[120:200].isna().all()


def test_bars_are_not_modified(bars):
    before = bars.copy()
    compute_features(bars)
    pd.testing.assert_frame_equal(bars, before)


def test_feature_returning_wrong_length_or_missing_output_raises(bars, restore_registry):
    def bad(frame):
        return {"bad_len": np.zeros(len(frame) - 1)}

    register_feature(FeatureSpec("bad_len", ("close",), {"bad_len": "double"}, 0, True, bad))
    with pytest.raises(ValueError, match=r"'bad_len' returned 'bad_len' with shape \(499,\)"):
        compute_features(bars, ["bad_len"])

    def missing(frame):
        return {}

    register_feature(FeatureSpec("missing", ("close",), {"missing": "double"}, 0, True, missing))
    with pytest.raises(ValueError, match="did not return its output 'missing'"):
        compute_features(bars, ["missing"])


def test_feature_sees_only_its_declared_inputs(bars, restore_registry):
    seen = []

    def record(frame):
        seen.append(list(frame.columns))
        return {"seen": np.zeros(len(frame))}

    register_feature(FeatureSpec("seen", ("close", "high"), {"seen": "double"}, 0, True, record))
    compute_features(bars, ["seen"])
    assert seen == [["close", "high"]]
