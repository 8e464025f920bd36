"""FeatureSpec validation and the registry: names, clashes, lookup at call time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from udfs import (
    FeatureSpec,
    compute_features,
    feature_names,
    get_feature,
    output_columns,
    output_schema,
    register_feature,
    resolve,
    unregister_feature,
)


def _typical(bars: pd.DataFrame) -> dict[str, pd.Series]:
    """(high + low + close) / 3."""
    return {"typical_price": (bars["high"] + bars["low"] + bars["close"]) / 3}


def spec(**changes) -> FeatureSpec:
    """A valid custom spec, with `changes` applied."""
    fields = {
        "name": "typical_price",
        "inputs": ("high", "low", "close"),
        "outputs": {"typical_price": "double"},
        "warmup": 0,
        "causal": True,
        "func": _typical,
    }
    return FeatureSpec(**{**fields, **changes})


def test_feature_spec_is_frozen_and_hashable():
    custom = spec(inputs=["high", "low", "close"])
    assert custom.inputs == ("high", "low", "close")
    with pytest.raises(dataclasses.FrozenInstanceError):
        custom.name = "other"
    with pytest.raises(TypeError):
        custom.outputs["other"] = "double"
    assert hash(custom) == hash(spec()) and custom == spec()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Typical Price"}, "not a lower-case identifier"),
        ({"outputs": {"typical_price": "float"}}, "dtype 'float'"),
        ({"outputs": {"ts": "double"}}, "reserved column"),
        ({"outputs": {}}, "outputs is empty"),
        ({"inputs": ()}, "inputs is empty"),
        ({"warmup": -1}, "warmup"),
        ({"func": None}, "not callable"),
        ({"outputs": {"typical_price": "double", "other": "double"}}, "ambiguous"),
    ],
)
def test_invalid_feature_spec_is_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        spec(**changes)


def test_unknown_feature_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown feature 'nope'.*rsi_14.*macd_12_26_9.*cci_14"):
        get_feature("nope")


def test_registered_feature_is_found_and_computed(restore_registry, minute_bars):
    register_feature(spec())
    assert get_feature("typical_price") == spec()
    assert feature_names()[-1] == "typical_price"
    assert output_columns()[-1] == "typical_price"
    out = compute_features(minute_bars, ["typical_price", "rsi_14"])
    expected = (minute_bars["high"] + minute_bars["low"] + minute_bars["close"]) / 3
    np.testing.assert_array_equal(out["typical_price"].to_numpy(), expected.to_numpy())
    assert list(out.columns) == ["typical_price", "rsi_14"]
    assert "typical_price" in compute_features(minute_bars).columns


def test_unregistered_feature_is_gone(restore_registry):
    register_feature(spec())
    assert unregister_feature("typical_price") == spec()
    assert "typical_price" not in feature_names()
    with pytest.raises(ValueError, match="unknown feature"):
        unregister_feature("typical_price")


def test_registering_a_name_again_replaces_it_and_is_used_at_call_time(
    restore_registry, minute_bars
):
    def constant(bars):
        return {"rsi_14": np.full(len(bars), 50.0)}

    register_feature(dataclasses.replace(get_feature("rsi_14"), func=constant))
    assert (compute_features(minute_bars, ["rsi_14"])["rsi_14"] == 50.0).all()


def test_monkeypatched_registry_entry_is_used_at_call_time(monkeypatch, minute_bars):
    import udfs.registry

    def peek(bars):
        return {"rsi_14": bars["close"].shift(-1)}

    patched = dataclasses.replace(get_feature("rsi_14"), func=peek, causal=False)
    monkeypatch.setitem(udfs.registry._FEATURES, "rsi_14", patched)
    out = compute_features(minute_bars, ["rsi_14"])
    assert out["rsi_14"].iloc[0] == minute_bars["close"].iloc[1]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outputs": {"cci": "double"}}, r"outputs \['cci'\] are already produced by 'cci_14'"),
        ({"name": "macdhist"}, "is an output of 'macd_12_26_9'"),
        ({"outputs": {"cci_14": "double"}}, "is the name of feature 'cci_14'"),
    ],
)
def test_ambiguous_names_are_refused(restore_registry, changes, message):
    with pytest.raises(ValueError, match=message):
        register_feature(spec(**changes))
    assert "typical_price" not in feature_names()


def test_names_resolve_to_output_columns_in_request_order():
    assert list(resolve(None)) == output_columns()
    assert output_columns()[:5] == ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
    assert list(resolve(["cci", "macdsignal"])) == ["cci", "macdsignal"]
    assert list(resolve("macd_12_26_9")) == ["macd", "macdsignal", "macdhist"]
    assert list(resolve(["macd", "macd_12_26_9", "cci_14"])) == [
        "macd",
        "macdsignal",
        "macdhist",
        "cci",
    ]
    assert resolve(["macdhist"])["macdhist"] is get_feature("macd_12_26_9")
    assert output_schema(["rsi_14", "cci"]) == {"rsi_14": "double", "cci": "double"}


def test_unknown_names_list_known_features_and_columns():
    with pytest.raises(ValueError) as error:
        resolve(["rsi_14", "nope", "rsi"])
    message = str(error.value)
    assert "['nope', 'rsi']" in message
    assert "known features: ['rsi_14', 'macd_12_26_9', 'cci_14', 'volume_adi'," in message
    assert "known output columns: ['rsi_14', 'macd', 'macdsignal', 'macdhist', 'cci'," in message


def test_output_warmups_default_to_the_feature_warmup_and_are_validated():
    custom = spec(
        name="typical",
        outputs={"typical_price": "double", "typical_change": "double"},
        warmup=3,
        output_warmups={"typical_price": 0},
    )
    assert custom.warmup_of("typical_price") == 0
    assert custom.warmup_of("typical_change") == 3
    with pytest.raises(ValueError, match="'nope' is not an output"):
        custom.warmup_of("nope")
    for warmups, message in [
        ({"other": 1}, "names 'other', which is not an output"),
        ({"typical_price": 5}, "exceeds the feature's warmup 3"),
        ({"typical_price": -1}, "must be an int >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            spec(
                name="typical",
                outputs={"typical_price": "double", "x": "double"},
                warmup=3,
                output_warmups=warmups,
            )


def test_specs_with_different_output_warmups_differ_and_pickle():
    import pickle

    a = spec(name="typical", warmup=2, outputs={"typical_price": "double", "x": "double"})
    b = dataclasses.replace(a, output_warmups={"x": 1})
    assert a != b and hash(a) != hash(b)
    assert pickle.loads(pickle.dumps(b)) == b
    with pytest.raises(TypeError):
        b.output_warmups["x"] = 0
