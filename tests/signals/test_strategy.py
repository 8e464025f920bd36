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
        ("entry", "abs(rsi_14) < 30", "abs(rsi_14)"),
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
