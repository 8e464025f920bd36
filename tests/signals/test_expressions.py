"""parse_condition: the condition language, its pandas evaluation and its SQL translation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals.expressions import ExpressionError, parse_condition
from warehouse.engines.duckdb import connect

DESIGN_EXAMPLE = "macd > macdsignal and cci <= -50"


@pytest.fixture
def frame() -> pd.DataFrame:
    """Feature rows covering each branch of the DESIGN example, with missing values."""
    return pd.DataFrame(
        {
            #            hold   macd<=  cci>-50  NaN macd  NaN sig  NaN cci  boundary
            "macd": [1.0, 0.5, 2.0, np.nan, 1.0, 1.0, 0.2],
            "macdsignal": [0.5, 0.5, 1.0, 0.0, np.nan, 0.0, 0.1],
            "cci": [-60.0, -100.0, -49.9, -80.0, -80.0, np.nan, -50.0],
        }
    )


def sql_evaluate(condition_sql: str, frame: pd.DataFrame) -> list[bool]:
    """Evaluate a SQL boolean expression row by row in DuckDB over `frame`."""
    conn = connect(":memory:")
    try:
        conn.register("features", frame.reset_index(drop=True).assign(_row=range(len(frame))))
        rows = conn.execute(
            f"select {condition_sql} as holds from features order by _row"
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def test_design_example_parses_and_reads_three_columns() -> None:
    condition = parse_condition(DESIGN_EXAMPLE)
    assert condition.text == DESIGN_EXAMPLE
    assert condition.columns == frozenset({"macd", "macdsignal", "cci"})


def test_design_example_holds_only_where_both_comparisons_hold_and_nan_rows_are_false(
    frame: pd.DataFrame,
) -> None:
    result = parse_condition(DESIGN_EXAMPLE).evaluate(frame)
    assert result.dtype == bool
    assert result.index.equals(frame.index)
    assert result.tolist() == [True, False, False, False, False, False, True]


def test_surrounding_whitespace_is_stripped_from_the_text() -> None:
    assert parse_condition(f"  {DESIGN_EXAMPLE}\n").text == DESIGN_EXAMPLE


def test_evaluation_keeps_the_frame_index() -> None:
    index = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
    frame = pd.DataFrame({"rsi_14": [10.0, 50.0, 90.0]}, index=index)
    result = parse_condition("rsi_14 < 30").evaluate(frame)
    assert result.index.equals(index)
    assert result.tolist() == [True, False, False]


def test_chained_comparison_means_every_link_holds() -> None:
    frame = pd.DataFrame({"rsi_14": [10.0, 20.0, 35.0, 40.0, 75.0, np.nan]})
    result = parse_condition("20 <= rsi_14 < 40").evaluate(frame)
    assert result.tolist() == [False, True, True, False, False, False]


def test_chained_comparison_between_columns() -> None:
    frame = pd.DataFrame(
        {"low": [1.0, 1.0, 3.0], "close": [2.0, 5.0, 2.0], "high": [3.0, 4.0, 4.0]}
    )
    result = parse_condition("low <= close <= high").evaluate(frame)
    assert result.tolist() == [True, False, False]


def test_not_negates_a_comparison_and_a_missing_value_comparison_is_false_before_negation() -> None:
    frame = pd.DataFrame({"cci": [-60.0, 10.0, np.nan]})
    assert parse_condition("not cci < 0").evaluate(frame).tolist() == [False, True, True]


def test_or_holds_when_either_side_holds_even_if_the_other_is_missing() -> None:
    frame = pd.DataFrame(
        {"rsi_14": [10.0, 50.0, 90.0, np.nan, np.nan], "cci": [0.0, 0.0, 0.0, 200.0, 0.0]}
    )
    result = parse_condition("rsi_14 < 30 or cci > 100").evaluate(frame)
    assert result.tolist() == [True, False, False, True, False]


def test_negative_constants_and_floats_compare_as_numbers() -> None:
    frame = pd.DataFrame({"log_return": [-0.02, -0.01, -0.005, 0.0]})
    result = parse_condition("log_return < -0.01").evaluate(frame)
    assert result.tolist() == [True, False, False, False]
    assert parse_condition("-0.01 > log_return").evaluate(frame).tolist() == result.tolist()


def test_equality_and_inequality_with_missing_values_are_false() -> None:
    frame = pd.DataFrame({"a": [1.0, 1.0, np.nan], "b": [1.0, 2.0, 1.0]})
    assert parse_condition("a == b").evaluate(frame).tolist() == [True, False, False]
    assert parse_condition("a != b").evaluate(frame).tolist() == [False, True, False]


def test_nullable_integer_columns_with_na_evaluate_false() -> None:
    frame = pd.DataFrame({"volume": pd.array([10, None, 300], dtype="Int64")})
    assert parse_condition("volume >= 100").evaluate(frame).tolist() == [False, False, True]


def test_design_example_sql_text() -> None:
    assert (
        parse_condition(DESIGN_EXAMPLE).to_sql()
        == "coalesce(((macd > macdsignal) and (cci <= -50)), false)"
    )


@pytest.mark.parametrize(
    "text",
    [
        DESIGN_EXAMPLE,
        "macd < macdsignal",
        "not cci < 0",
        "not (macd > macdsignal and cci <= -50)",
        "macd > macdsignal or cci <= -50",
        "not (macd > macdsignal or cci > -50)",
        "-100 < cci <= -50",
        "macd != macdsignal",
        "macd == macdsignal",
        "(macd > 0 or cci < -75) and not macdsignal >= 1",
    ],
)
def test_sql_in_duckdb_gives_the_same_booleans_as_pandas(text: str, frame: pd.DataFrame) -> None:
    condition = parse_condition(text)
    assert sql_evaluate(condition.to_sql(), frame) == condition.evaluate(frame).tolist()


def test_sql_and_pandas_agree_on_random_features_with_missing_values() -> None:
    rng = np.random.default_rng(7)
    values = rng.choice([-100.0, -50.0, 0.0, 0.5, 1.0, 50.0, np.nan], size=(400, 3))
    frame = pd.DataFrame(values, columns=["macd", "macdsignal", "cci"])
    for text in (
        DESIGN_EXAMPLE,
        "not (macd > macdsignal and not cci <= -50) or macd == 0.5",
        "not not macd <= macdsignal",
        "-50 <= cci != macd",
    ):
        condition = parse_condition(text)
        assert sql_evaluate(condition.to_sql(), frame) == condition.evaluate(frame).tolist(), text


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("abs(cci) > 50", "abs(cci)"),
        ("macd.real > 0", "macd.real"),
        ("__import__('os').system('true') == 0", "__import__('os').system('true')"),
        ("macd > __import__('os')", "__import__('os')"),
        ("cci[0] > 1", "cci[0]"),
        ("macd - macdsignal > 0", "macd - macdsignal"),
        ("(lambda: 1)() > 0", "(lambda: 1)()"),
        ("macd > macdsignal & (cci < 0)", "macdsignal & (cci < 0)"),
    ],
)
def test_calls_attributes_and_other_python_are_rejected_quoting_the_expression(
    text: str, offending: str
) -> None:
    with pytest.raises(ExpressionError) as error:
        parse_condition(text)
    assert repr(text) in str(error.value)
    assert repr(offending) in str(error.value)


@pytest.mark.parametrize("text", ["cci > 'abc'", "macd == True", "cci > None", "cci > b'1'"])
def test_non_numeric_constants_are_rejected(text: str) -> None:
    with pytest.raises(ExpressionError, match="is not a number") as error:
        parse_condition(text)
    assert repr(text) in str(error.value)


def test_import_statement_is_a_syntax_error_quoting_the_expression() -> None:
    text = "import os"
    with pytest.raises(ExpressionError, match="syntax error") as error:
        parse_condition(text)
    assert repr(text) in str(error.value)


def test_a_bare_column_is_not_a_condition() -> None:
    with pytest.raises(ExpressionError, match="must be a comparison or a boolean expression"):
        parse_condition("macd")


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("macd and cci", "macd"),
        ("not macd", "macd"),
        ("macd > 0 or cci", "cci"),
    ],
)
def test_and_or_not_only_combine_comparisons(text: str, offending: str) -> None:
    with pytest.raises(ExpressionError, match="is not a comparison") as error:
        parse_condition(text)
    assert repr(offending) in str(error.value)


@pytest.mark.parametrize("text", ["(macd > macdsignal) > cci", "macd > (cci and macdsignal)"])
def test_comparisons_compare_columns_and_numbers_only(text: str) -> None:
    with pytest.raises(ExpressionError, match="compares a condition"):
        parse_condition(text)


def test_negating_a_column_is_rejected() -> None:
    with pytest.raises(ExpressionError, match="negation applies to numbers only"):
        parse_condition("-cci > 50")


def test_non_finite_constants_are_rejected() -> None:
    with pytest.raises(ExpressionError, match="not a finite number"):
        parse_condition("cci > 1e400")


def test_unknown_column_is_named_by_check_columns() -> None:
    condition = parse_condition("macd > macd_signal and cci <= -50")
    condition.check_columns(["macd", "macd_signal", "cci", "close"])  # all known: no error
    with pytest.raises(ExpressionError, match=r"unknown column\(s\) \['macd_signal'\]") as error:
        condition.check_columns(["macd", "macdsignal", "cci"])
    assert "macd > macd_signal and cci <= -50" in str(error.value)


def test_evaluating_on_a_frame_without_the_column_names_it(frame: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError, match=r"\['rsi_14'\]"):
        parse_condition("rsi_14 < 30").evaluate(frame)
