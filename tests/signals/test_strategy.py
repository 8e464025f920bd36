"""Strategies declared as YAML: the bundled library and validation of declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from signals.expressions import parse_condition
from signals.strategy import LIBRARY_DIR, load_library, load_strategy, strategy_from_dict

SOURCE = "strategies/test_strategy.yaml"


def declaration(**changes: Any) -> dict[str, Any]:
    """A valid declaration with some fields changed."""
    spec: dict[str, Any] = {
        "id": "rsi_dip",
        "description": "Buy oversold RSI.",
        "timeframes": ["15m", "4h"],
        "entry": "rsi_14 < 30",
        "exit": "rsi_14 > 70",
        "direction": "long",
        "stoploss": -0.1,
        "take_profit": 0.05,
        "position_weight": 0.5,
        "fees": 0.001,
        "slippage": 0.0002,
    }
    spec.update(changes)
    return spec


def without(field: str) -> dict[str, Any]:
    """A valid declaration with one field removed."""
    spec = declaration()
    del spec[field]
    return spec


def test_bundled_library_holds_macd_cci_on_5m_and_1h() -> None:
    strategies = {s.id: s for s in load_library()}
    macd_cci = strategies["macd_cci"]
    assert macd_cci.timeframes == ("5m", "1h")
    assert macd_cci.stoploss == -0.3
    assert macd_cci.direction == "long"
    assert macd_cci.entry.text == "macd > macdsignal and cci <= -50"
    assert macd_cci.entry.columns == frozenset({"macd", "macdsignal", "cci"})
    assert macd_cci.exit.text == "macd < macdsignal"
    assert macd_cci.source == str(LIBRARY_DIR / "macd_cci.yaml")


def test_library_is_sorted_by_id_and_every_file_loads() -> None:
    strategies = load_library()
    assert [s.id for s in strategies] == sorted(s.id for s in strategies)
    assert len(strategies) == len(list(LIBRARY_DIR.glob("*.yaml")))


def test_instance_id_joins_strategy_and_timeframe() -> None:
    macd_cci = load_strategy(LIBRARY_DIR / "macd_cci.yaml")
    assert [macd_cci.instance_id(tf) for tf in macd_cci.timeframes] == [
        "macd_cci_5m",
        "macd_cci_1h",
    ]


def test_with_overrides_returns_a_changed_copy() -> None:
    macd_cci = load_strategy(LIBRARY_DIR / "macd_cci.yaml")
    hourly = macd_cci.with_overrides(timeframes=("1h",), take_profit=0.1)
    assert hourly.timeframes == ("1h",)
    assert hourly.take_profit == 0.1
    assert macd_cci.timeframes == ("5m", "1h")
    assert hourly.entry == macd_cci.entry


def test_declaration_fields_are_typed_and_defaults_apply() -> None:
    strategy = strategy_from_dict(
        {"id": "x", "timeframes": ["1d"], "entry": "cci < -100", "exit": "cci > 100"}
    )
    assert strategy.timeframes == ("1d",)
    assert strategy.direction == "long"
    assert strategy.stoploss is None and strategy.take_profit is None
    assert strategy.position_weight == 1.0
    assert strategy.fees == 0.0 and strategy.slippage == 0.0
    assert strategy.entry == parse_condition("cci < -100")


def test_the_same_declaration_loads_to_equal_strategies() -> None:
    path = LIBRARY_DIR / "macd_cci.yaml"
    assert load_strategy(path) == load_strategy(path)
    assert load_strategy(path) != load_strategy(path).with_overrides(stoploss=-0.2)


def test_loading_a_yaml_file_names_it_as_the_source(tmp_path: Path) -> None:
    path = tmp_path / "short_rsi.yaml"
    path.write_text(
        "id: short_rsi\ntimeframes: [1h]\ndirection: short\n"
        "entry: rsi_14 > 70\nexit: rsi_14 < 50\nstoploss: -0.05\n"
    )
    strategy = load_strategy(path)
    assert strategy.direction == "short"
    assert strategy.source == str(path)


def test_a_bad_yaml_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\ntimeframes: [1h]\nentry: cci < 0\nexit: cci > 0\nstoploss: 0.3\n")
    with pytest.raises(ValueError, match="stoploss") as error:
        load_strategy(path)
    assert str(error.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (without("entry"), "entry"),
        (without("exit"), "exit"),
        (without("timeframes"), "timeframes"),
        (without("id"), "id"),
        (declaration(stop_loss=-0.1), "stop_loss"),
        (declaration(timeframes=["2h"]), "2h"),
        (declaration(timeframes=[]), "timeframes"),
        (declaration(stoploss=0.3), "stoploss"),
        (declaration(stoploss=-1.5), "stoploss"),
        (declaration(take_profit=-0.05), "take_profit"),
        (declaration(position_weight=1.5), "position_weight"),
        (declaration(direction="sideways"), "direction"),
        (declaration(id="RSI dip'"), "id"),
    ],
    ids=[
        "missing-entry",
        "missing-exit",
        "missing-timeframes",
        "missing-id",
        "unknown-field",
        "bad-timeframe",
        "no-timeframes",
        "positive-stoploss",
        "stoploss-below-minus-one",
        "negative-take-profit",
        "weight-above-one",
        "bad-direction",
        "id-not-an-identifier",
    ],
)
def test_invalid_declarations_name_the_source_and_the_field(
    spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError) as error:
        strategy_from_dict(spec, source=SOURCE)
    message = str(error.value)
    assert message.startswith(f"{SOURCE}: ")
    assert field in message


def test_missing_fields_are_listed_together() -> None:
    with pytest.raises(ValueError, match=r"missing field\(s\) \['entry', 'exit'\]"):
        strategy_from_dict({"id": "x", "timeframes": ["1h"]}, source=SOURCE)


def test_bad_timeframe_error_lists_the_valid_choices() -> None:
    with pytest.raises(ValueError, match=r"timeframes \['2h'\] invalid; choose from \['1m'"):
        strategy_from_dict(declaration(timeframes=["1h", "2h"]), source=SOURCE)


@pytest.mark.parametrize(
    ("field", "condition", "offending"),
    [
        ("entry", "sqrt(rsi_14) < 30", "sqrt(rsi_14)"),
        ("exit", "rsi_14 >", "syntax error"),
        ("entry", "rsi_14 < 'low'", "'low'"),
    ],
)
def test_a_bad_condition_names_the_source_the_field_and_the_expression(
    field: str, condition: str, offending: str
) -> None:
    with pytest.raises(ValueError) as error:
        strategy_from_dict(declaration(**{field: condition}), source=SOURCE)
    message = str(error.value)
    assert message.startswith(f"{SOURCE}: {field}: ")
    assert repr(condition) in message
    assert offending in message


def tunable(**changes: Any) -> dict[str, Any]:
    """A declaration with parameters, a minimal-ROI table and a trailing stop."""
    spec = declaration(
        entry="rsi_14 < rsi_low and close > rolling_max(high, window)[1]",
        exit="rsi_14 > rsi_high",
        parameters={
            "rsi_low": {"default": 30, "range": [20, 40], "step": 5},
            "rsi_high": {"default": 70, "range": [60, 80], "step": 10},
            "window": {"default": 20, "range": [10, 30], "step": 10},
        },
        minimal_roi={0: 0.1, 30: 0.05, "2h": 0.02, "10 bars": 0.0},
        trailing_stop={"fraction": 0.02, "offset": 0.01},
        demo=False,
    )
    spec.update(changes)
    return spec


def test_parameters_minimal_roi_trailing_stop_and_demo_are_read() -> None:
    strategy = strategy_from_dict(tunable())
    assert [p.name for p in strategy.parameters] == ["rsi_low", "rsi_high", "window"]
    assert strategy.parameter_values == {"rsi_low": 30, "rsi_high": 70, "window": 20}
    assert strategy.entry.columns == frozenset({"rsi_14", "close", "high"})
    assert strategy.minimal_roi == (
        (0, "minutes", 0.1),
        (10, "bars", 0.0),
        (30, "minutes", 0.05),
        (120, "minutes", 0.02),
    )
    assert (strategy.trailing_stop, strategy.trailing_offset) == (0.02, 0.01)
    assert strategy.demo is False
    assert strategy_from_dict(declaration()).demo is True


def test_minimal_roi_ages_convert_to_bars_rounding_up_per_timeframe() -> None:
    strategy = strategy_from_dict(tunable())
    # 15m: 30 min -> 2 bars, 2h -> 8 bars, "10 bars" stays 10
    assert strategy.roi_bars("15m") == ((0, 0.1), (2, 0.05), (8, 0.02), (10, 0.0))
    # 4h: 30 min and 2h both round up to 1 bar; the later age (2h) wins, as in freqtrade
    assert strategy.roi_bars("4h") == ((0, 0.1), (1, 0.02), (10, 0.0))


def test_backtest_options_carry_roi_and_trailing_stop_for_the_kernel() -> None:
    strategy = strategy_from_dict(tunable())
    assert strategy.backtest_options("4h") == {
        "roi": ((0, 0.1), (1, 0.02), (10, 0.0)),
        "trailing_stop": 0.02,
        "trailing_offset": 0.01,
    }
    assert strategy_from_dict(declaration()).backtest_options("1h") == {}
    with pytest.raises(ValueError, match="minimal_roi needs the timeframe"):
        strategy.backtest_options(None)


def test_with_parameters_rebinds_the_conditions_and_names_the_variant() -> None:
    strategy = strategy_from_dict(tunable())
    strict = strategy.with_parameters(rsi_low=20, window=30)
    assert strict.parameter_values == {"rsi_low": 20, "rsi_high": 70, "window": 30}
    assert (
        "rsi_14 < 20" in strict.entry.to_sql()
        and "between 30 preceding and 1 preceding" in strict.entry.to_sql()
    )
    assert strategy.instance_id("1h") == "rsi_dip_1h"
    assert strict.instance_id("1h").startswith("rsi_dip_1h_p")
    assert strict.instance_id("1h") == strategy.with_parameters(window=30, rsi_low=20).instance_id(
        "1h"
    )
    assert strict.instance_id("1h") != strategy.with_parameters(rsi_low=25).instance_id("1h")
    assert strategy.with_parameters(rsi_low=30) == strategy


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rsi_lo": 25}, r"unknown parameter\(s\) \['rsi_lo'\]"),
        ({"rsi_low": 45}, r"rsi_low = 45 is outside its range \[20.0, 40.0\]"),
        ({"window": 12.5}, "whole number of bars"),
    ],
)
def test_with_parameters_rejects_unknown_names_and_bad_values(
    values: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        strategy_from_dict(tunable()).with_parameters(**values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"parameters": {"rsi_low": {"default": 50, "range": [20, 40]}}},
            r"parameters.rsi_low: default 50.0 is outside its range \[20.0, 40.0\]",
        ),
        (
            {"parameters": {"rsi_low": {"default": 30, "range": [40, 20]}}},
            "range",
        ),
        (
            {"parameters": {"rsi_low": {"default": 30}}},
            "needs a default and a range",
        ),
        (
            {
                "entry": "rsi_14 < rsi_low",
                "parameters": {
                    "rsi_low": {"default": 30, "range": [20, 40]},
                    "unused": {"default": 1, "range": [0, 2]},
                },
            },
            r"parameter\(s\) \['unused'\] declared but used by neither",
        ),
        (
            {"entry": "close < close[k]", "parameters": {"k": {"default": 1, "range": [-2, 3]}}},
            "look-ahead",
        ),
        ({"parameters": {"lag": {"default": 1, "range": [0, 2]}}}, "function or a bar column"),
        ({"minimal_roi": {"soon": 0.1}}, "minimal_roi: age 'soon'"),
        ({"minimal_roi": {0: -1.5}}, "must be > -1"),
        ({"trailing_stop": 1.5}, "trailing_stop fraction 1.5"),
        ({"trailing_stop": {"fraction": 0.02, "start": 0.1}}, "trailing_stop: expected"),
        ({"demo": "no"}, "demo 'no' must be true or false"),
        ({"entry": "close[-1] > close"}, r"entry: .*look-ahead"),
    ],
)
def test_invalid_tunable_declarations_are_rejected_naming_the_field(
    changes: dict[str, Any], message: str
) -> None:
    spec = tunable(**changes)
    if "entry" in changes and "parameters" not in changes:
        spec.pop("parameters")
        spec["exit"] = "rsi_14 > 70"
    with pytest.raises(ValueError, match=message) as error:
        strategy_from_dict(spec, source=SOURCE)
    assert str(error.value).startswith(f"{SOURCE}: ")


def test_parameter_grid_is_the_full_product_in_declaration_order() -> None:
    grid = strategy_from_dict(tunable()).parameter_grid()
    assert len(grid) == 5 * 3 * 3
    assert grid[0] == {"rsi_low": 20, "rsi_high": 60, "window": 10}
    assert grid[1] == {"rsi_low": 20, "rsi_high": 60, "window": 20}
    assert grid[-1] == {"rsi_low": 40, "rsi_high": 80, "window": 30}
    assert len({tuple(g.values()) for g in grid}) == len(grid)


def test_fractional_steps_land_on_round_values() -> None:
    spec = declaration(
        entry="volatility_bbp < level",
        parameters={"level": {"default": 0.2, "range": [0.1, 0.3], "step": 0.05}},
    )
    assert [g["level"] for g in strategy_from_dict(spec).parameter_grid()] == [
        0.1,
        0.15,
        0.2,
        0.25,
        0.3,
    ]


def test_random_sample_is_seeded_distinct_and_on_the_grid() -> None:
    strategy = strategy_from_dict(tunable())
    grid = [tuple(g.values()) for g in strategy.parameter_grid()]
    sample = strategy.sample_parameters(10, seed=7)
    assert sample == strategy.sample_parameters(10, seed=7)
    assert sample != strategy.sample_parameters(10, seed=8)
    points = [tuple(s.values()) for s in sample]
    assert len(set(points)) == 10 and set(points) <= set(grid)
    assert len({tuple(s.values()) for s in strategy.sample_parameters(40, seed=1)}) == 40
    assert strategy.sample_parameters(1000, seed=1) == strategy.parameter_grid()
    for values in sample:
        strategy.with_parameters(**values)  # every sampled set is valid


def test_parameters_without_a_step_are_sampled_uniformly_within_their_range() -> None:
    spec = declaration(
        entry="rsi_14 < level and close > close[k]",
        parameters={
            "level": {"default": 30, "range": [20.5, 40]},
            "k": {"default": 2, "range": [1, 5]},
        },
    )
    strategy = strategy_from_dict(spec)
    sample = strategy.sample_parameters(200, seed=3)
    levels, lags = [s["level"] for s in sample], [s["k"] for s in sample]
    assert all(20.5 <= v <= 40 for v in levels) and len(set(levels)) == 200
    assert set(lags) == {1, 2, 3, 4, 5} and all(isinstance(k, int) for k in lags)
    with pytest.raises(ValueError, match="has no step"):
        strategy.parameter_grid()


def test_load_library_can_keep_only_the_demo_strategies() -> None:
    everything = load_library()
    demo = load_library(demo_only=True)
    assert [s.id for s in demo] == [s.id for s in everything if s.demo]
    assert [s.id for s in demo] == ["macd_cci"]
    assert len(everything) > len(demo)


def test_an_unknown_name_in_a_condition_is_reported_with_the_declared_parameters() -> None:
    strategy = strategy_from_dict(tunable(exit="rsi_14 > rsi_high + rsi_hi"), source=SOURCE)
    with pytest.raises(ValueError) as error:
        strategy.check_columns(["rsi_14", "close", "high"])
    message = str(error.value)
    assert message.startswith(f"{SOURCE}: exit: ") and "unknown column(s) ['rsi_hi']" in message
    assert "declared parameters: ['rsi_low', 'rsi_high', 'window']" in message
