"""parse_condition: the condition language, its pandas evaluation and its SQL translation."""

from __future__ import annotations

import re

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
        ("macd.real > 0", "macd.real"),
        ("__import__('os').system('true') == 0", "__import__('os').system('true')"),
        ("macd > __import__('os')", "__import__('os')"),
        ("cci[1:3] > 1", "1:3"),
        ("macd % 2 > 0", "macd % 2"),
        ("macd ** 2 > 0", "macd ** 2"),
        ("(lambda: 1)() > 0", "(lambda: 1)()"),
        ("macd > macdsignal & (cci < 0)", "macdsignal & (cci < 0)"),
        ("lag(cci, k=1) > 0", "lag(cci, k=1)"),
        ("(macd if cci else 0) > 1", "macd if cci else 0"),
    ],
)
def test_attributes_operators_and_other_python_are_rejected_quoting_the_expression(
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
        ("close and 3", "close"),
    ],
)
def test_and_or_not_only_combine_conditions(text: str, offending: str) -> None:
    with pytest.raises(ExpressionError, match="is a number, not a comparison") as error:
        parse_condition(text)
    assert repr(offending) in str(error.value)


@pytest.mark.parametrize(
    "text", ["(macd > macdsignal) > cci", "macd > (cci > 0 and macdsignal > 0)"]
)
def test_comparisons_compare_columns_and_numbers_only(text: str) -> None:
    with pytest.raises(ExpressionError, match="compares a condition"):
        parse_condition(text)


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


def series_frame(seed: int = 11) -> pd.DataFrame:
    """Three series (two symbols on 1h, one on 5m), rows shuffled, NaN warm-ups and gaps.

    Values come from a small set of halves so that ties, crosses and averages are exact.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for symbol, timeframe, n in (("AAA", "1h", 160), ("BBB", "1h", 120), ("AAA", "5m", 90)):
        values = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0], size=(n, 3))
        values[rng.random((n, 3)) < 0.05] = np.nan
        values[:4, 0], values[:7, 1] = np.nan, np.nan  # warm-up rows
        part = pd.DataFrame(values, columns=["a", "b", "c"])
        part.insert(0, "ts", pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"))
        parts.append(part.assign(symbol=symbol, timeframe=timeframe))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)


def pandas_by_series(condition, frame: pd.DataFrame) -> list[bool]:  # noqa: ANN001
    """Evaluate one series at a time in time order, in the frame's row order."""
    results = [
        condition.evaluate(rows.sort_values("ts"))
        for _, rows in frame.groupby(["symbol", "timeframe"])
    ]
    return pd.concat(results).reindex(frame.index).tolist()


CONSTRUCTS = [
    "a > b",
    "-1 < a <= b",
    "a == b or a != c",
    "a + b > c",
    "a - b < 0",
    "a * b >= c",
    "a / b > 1",
    "a / (b - c) > 0",
    "-a > b",
    "abs(a - b) < 0.75",
    "a[1] > a",
    "lag(a, 2) <= b",
    "lag(a > b, 1)",
    "(a > b)[3] and a[0] == a",
    "crosses_above(a, b)",
    "crosses_below(a, 0.5)",
    "crosses_above(a - b, c[1])",
    "crosses_below(a, b)[2]",
    "a > rolling_max(b, 3)",
    "a < rolling_min(b, 4)[1]",
    "a > rolling_mean(b + c, 5)",
    "rolling_max(a, 1) == a",
    "rolling_mean(a, 3)[2] > rolling_mean(a, 6)",
    "not a > b",
    "not (crosses_above(a, b) or a[1] > c)",
    "(a > b and b > c) or not c < 0",
]


@pytest.mark.parametrize("text", CONSTRUCTS)
def test_every_construct_gives_the_same_booleans_in_pandas_and_in_duckdb(text: str) -> None:
    frame = series_frame()
    condition = parse_condition(text)
    expected = pandas_by_series(condition, frame)
    assert sql_evaluate(condition.to_sql(), frame) == expected
    assert any(expected) and not all(expected), "the construct must discriminate on this data"


def test_parameters_are_substituted_in_pandas_and_in_sql_including_window_lengths() -> None:
    frame = series_frame(seed=3)
    text = "a > lo and b < rolling_max(c, n)[k]"
    condition = parse_condition(text, {"lo": 0, "n": 3, "k": 1})
    assert condition.columns == frozenset({"a", "b", "c"})
    assert condition.values == {"k": 1, "lo": 0, "n": 3}
    assert sql_evaluate(condition.to_sql(), frame) == pandas_by_series(condition, frame)
    wider = condition.bind({"n": 6, "lo": -1})
    assert wider.values == {"k": 1, "lo": -1, "n": 6}
    assert sql_evaluate(wider.to_sql(), frame) == pandas_by_series(wider, frame)
    assert pandas_by_series(wider, frame) != pandas_by_series(condition, frame)


def test_warm_up_rows_of_lags_crosses_and_windows_are_false() -> None:
    frame = pd.DataFrame({"a": [1.0, 3.0, 2.0, 4.0, 5.0], "b": [2.0, 2.0, 2.0, 2.0, 2.0]})
    assert parse_condition("a > a[1]").evaluate(frame).tolist() == [False, True, False, True, True]
    assert parse_condition("crosses_above(a, b)").evaluate(frame).tolist() == [
        False,
        True,
        False,
        True,
        False,
    ]
    assert parse_condition("a >= rolling_max(a, 3)").evaluate(frame).tolist() == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_a_missing_value_inside_a_window_makes_the_window_missing() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 2.0, 3.0, 4.0, 5.0]})
    result = parse_condition("a >= rolling_min(a, 3)").evaluate(frame)
    assert result.tolist() == [False, False, False, False, True, True]


def test_division_by_zero_is_missing_rather_than_infinite() -> None:
    frame = pd.DataFrame({"a": [1.0, 1.0, -1.0], "b": [0.0, 2.0, 0.0]})
    assert parse_condition("a / b > 0").evaluate(frame).tolist() == [False, True, False]
    assert parse_condition("a / b < 1").evaluate(frame).tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("text", "offending", "column"),
    [
        ("close[-1] > close", "close[-1]", 1),
        ("close > lag(close, -2)", "lag(close, -2)", 9),
        ("close > lead(close, 1)", "lead(close, 1)", 9),
        ("rsi_14 < 30 and shift(close, 1) > 0", "shift(close, 1)", 17),
    ],
)
def test_look_ahead_is_rejected_with_the_sub_expression_and_its_column(
    text: str, offending: str, column: int
) -> None:
    with pytest.raises(ExpressionError, match="look-ahead") as error:
        parse_condition(text)
    assert f"{offending!r} at column {column}" in str(error.value)


def test_a_parameter_bound_to_a_negative_lag_is_look_ahead() -> None:
    condition = parse_condition("close[k] < close", {"k": 1})
    with pytest.raises(ExpressionError, match="look-ahead"):
        condition.bind({"k": -1})


@pytest.mark.parametrize(
    ("text", "offending", "message"),
    [
        ("sqrt(close) > 1", "sqrt(close)", "unknown function 'sqrt'"),
        ("close + (close > 1) > 0", "close > 1", "must be a number"),
        ("crosses_above(close > 1, 2)", "close > 1", "must be a number"),
        ("abs(close > open) > 0", "close > open", "must be a number"),
        ("rolling_max(close > open, 3) > 1", "close > open", "must be a number"),
        ("rolling_max(close[1], 3) > 1", "close[1]", "no nested windows"),
        ("rolling_min(crosses_above(a, b), 2) > 0", "crosses_above(a, b)", "cannot contain"),
        ("rolling_mean(close, 0) > 1", "rolling_mean(close, 0)", "at least 1 bar"),
        ("close[1.5] > 1", "1.5", "whole number of bars"),
        ("lag(close) > 1", "lag(close)", "takes 2 argument(s)"),
        ("rolling_max(3, 2) > 1", "rolling_max(3, 2)", "reads no column"),
        ("close + 1", "close + 1", "must be a comparison or a boolean expression"),
    ],
)
def test_type_and_function_errors_quote_the_sub_expression(
    text: str, offending: str, message: str
) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as error:
        parse_condition(text)
    assert repr(text) in str(error.value)
    assert repr(offending) in str(error.value)


def test_unknown_columns_are_named_with_their_positions() -> None:
    condition = parse_condition("rsi_14 < 30 and close > sma_20[1]")
    with pytest.raises(ExpressionError) as error:
        condition.check_columns(["rsi_14", "close"])
    assert "unknown column(s) ['sma_20']" in str(error.value)
    assert "'sma_20' at column 25" in str(error.value)


def test_binding_an_undeclared_parameter_is_an_error() -> None:
    condition = parse_condition("rsi_14 < rsi_low", {"rsi_low": 30})
    with pytest.raises(ExpressionError, match=r"unknown parameter\(s\) \['rsi_lo'\]"):
        condition.bind({"rsi_lo": 25})


def test_negating_a_column_is_arithmetic() -> None:
    frame = pd.DataFrame({"cci": [-60.0, 10.0, np.nan]})
    assert parse_condition("-cci > 50").evaluate(frame).tolist() == [True, False, False]


def test_bound_text_shows_parameters_by_value_and_compiles_to_the_same_sql() -> None:
    condition = parse_condition("rsi_14 < rsi_low and close > close[k]", {"rsi_low": 25, "k": 2})
    assert condition.bound_text == "rsi_14 < 25 and close > close[2]"
    assert parse_condition(condition.bound_text).to_sql() == condition.to_sql()
    assert parse_condition(DESIGN_EXAMPLE).bound_text == DESIGN_EXAMPLE
