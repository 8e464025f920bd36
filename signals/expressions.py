"""A small condition language over feature columns, compiled to pandas and to SQL.

A condition is a Python-syntax expression, parsed with `ast` and type-checked:

- numbers: columns, parameters, finite constants, `+ - * /`, unary `-`, `abs(x)`;
  lags `x[k]` / `lag(x, k)` (the value k >= 0 bars ago; a negative k is look-ahead);
  causal windows `rolling_max(x, n)`, `rolling_min(x, n)`, `rolling_mean(x, n)` over the
  last n bars including the current one;
- conditions: comparisons of numbers (chained too), `and`, `or`, `not`,
  `crosses_above(a, b)` (a > b now and a <= b one bar ago), `crosses_below(a, b)`, and
  lags of conditions.

Missing values (warm-up rows, gaps, division by zero) make a number missing and a
comparison false, identically in pandas and in SQL. Lags and windows run within one
series (one symbol on one timeframe) in time order: `evaluate` takes one series' rows,
`to_sql` windows `partition by symbol, timeframe order by ts`.
"""

from __future__ import annotations

import ast
import copy
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from warehouse.columns import SYMBOL, TIMEFRAME, TS

NUMBER, BOOLEAN = "number", "boolean"
_COMPARISONS = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Eq: "=",
    ast.NotEq: "<>",
}
_NUMPY_COMPARISONS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "=": np.equal,
    "<>": np.not_equal,
}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_ROLLING = {"rolling_max": "max", "rolling_min": "min", "rolling_mean": "avg"}
# name -> number of arguments; the second argument of lag and rolling_* is a bar count.
FUNCTIONS = {"abs": 1, "lag": 2, "crosses_above": 2, "crosses_below": 2} | dict.fromkeys(
    _ROLLING, 2
)
_LOOKAHEAD_FUNCTIONS = ("lead", "shift", "future", "next")
_NAN_SQL = "cast('nan' as double)"


class ExpressionError(ValueError):
    """An invalid condition; the message quotes the expression and the offending part."""


def _fail(text: str, node: ast.AST, message: str) -> ExpressionError:
    """An error quoting the condition, the sub-expression and its (1-based) column."""
    where = f"{ast.unparse(node)!r} at column {getattr(node, 'col_offset', 0) + 1}"
    return ExpressionError(f"condition {text!r}: {where}: {message}")


@dataclass(frozen=True)
class Condition:
    """A parsed, type-checked boolean condition such as `macd > macdsignal and cci <= -50`."""

    text: str
    tree: ast.expr = field(compare=False)  # ast nodes compare by identity
    parameters: tuple[tuple[str, float], ...] = ()  # the referenced parameters' values

    @property
    def values(self) -> dict[str, float]:
        """Parameter name -> bound value."""
        return dict(self.parameters)

    @property
    def bound_text(self) -> str:
        """The text with each parameter replaced by its value (the text itself without any)."""
        if not self.parameters:
            return self.text
        values = self.values

        class Bind(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.expr:  # noqa: N802 - ast's naming
                return ast.Constant(values[node.id]) if node.id in values else node

        return ast.unparse(Bind().visit(copy.deepcopy(self.tree)))

    @property
    def columns(self) -> frozenset[str]:
        """Feature columns the condition reads."""
        return frozenset(n.id for n in _names(self.tree) if n.id not in self.values)

    def check_columns(self, available: Iterable[str]) -> None:
        """Raise naming each unknown column with its position, if any."""
        available = set(available)
        unknown = [
            n for n in _names(self.tree) if n.id not in available and n.id not in self.values
        ]
        if unknown:
            where = ", ".join(f"{n.id!r} at column {n.col_offset + 1}" for n in unknown)
            raise ExpressionError(
                f"condition {self.text!r}: unknown column(s) {sorted({n.id for n in unknown})} "
                f"({where}); available: {sorted(available)}"
            )

    def bind(self, values: Mapping[str, float]) -> Condition:
        """The same condition with some parameters set to other values (re-validated)."""
        unknown = sorted(set(values) - set(self.values))
        if unknown:
            raise ExpressionError(f"condition {self.text!r}: unknown parameter(s) {unknown}")
        return parse_condition(self.text, self.values | dict(values))

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """True where the condition holds on one series' rows (time order); missing is False."""
        self.check_columns(frame.columns)
        result = _Evaluator(frame, self.values).run(self.tree, 0)
        values = np.broadcast_to(np.asarray(result, dtype=bool), (len(frame),))
        return pd.Series(values.copy(), index=frame.index)

    def to_sql(self, partition_by: Sequence[str] = (SYMBOL, TIMEFRAME), order_by: str = TS) -> str:
        """The condition as SQL (NULL counts as false); lags window over `partition_by`."""
        window = f"partition by {', '.join(partition_by)} order by {order_by}"
        return f"coalesce({_Sql(window, self.values).run(self.tree, 0)}, false)"


def parse_condition(text: str, parameters: Mapping[str, float] | None = None) -> Condition:
    """Parse and type-check a condition; names in `parameters` are parameters, not columns.

    Errors quote the condition, the offending sub-expression and its column.
    """
    text = text.strip()
    parameters = dict(parameters or {})
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"condition {text!r}: syntax error at column {exc.offset}") from None
    kind = _Checker(text, parameters).check(tree, in_window=False)
    if kind != BOOLEAN:
        raise _fail(text, tree, "must be a comparison or a boolean expression, not a number")
    used = {n.id for n in _names(tree)}
    if not used - set(parameters):
        raise _fail(text, tree, "reads no column")
    bound = tuple(sorted((name, value) for name, value in parameters.items() if name in used))
    return Condition(text=text, tree=tree, parameters=bound)


def _names(node: ast.AST) -> Iterator[ast.Name]:
    """Column and parameter names, in text order (function names excluded)."""
    if isinstance(node, ast.Name):
        yield node
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(node, ast.Call) and child is node.func:
            continue
        yield from _names(child)


def _bar_count(text: str, node: ast.expr, values: Mapping[str, float]) -> int:
    """The integer of a lag or window argument: a whole-number constant or parameter."""
    value: object = None
    if isinstance(node, ast.Constant):
        value = node.value
    elif (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
    ):
        value = node.operand.value
        value = -value if isinstance(value, int | float) and not isinstance(value, bool) else None
    elif isinstance(node, ast.Name) and node.id in values:
        value = values[node.id]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _fail(text, node, "must be a whole number of bars (a constant or a parameter)")
    return int(value)


class _Checker:
    """Type-checks a tree: every node is a number or a condition, or the error says why."""

    def __init__(self, text: str, values: Mapping[str, float]) -> None:
        self.text, self.values = text, values

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return _fail(self.text, node, message)

    def number(self, node: ast.expr, in_window: bool, role: str) -> None:
        if self.check(node, in_window) != NUMBER:
            raise self.fail(node, f"is a condition; {role} must be a number")

    def condition(self, node: ast.expr, in_window: bool, role: str) -> None:
        if self.check(node, in_window) != BOOLEAN:
            raise self.fail(node, f"is a number, not a comparison; {role} takes conditions")

    def check(self, node: ast.expr, in_window: bool) -> str:
        """NUMBER or BOOLEAN; `in_window`: inside rolling_*, where no window may nest."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(node, f"{value!r} is not a number")
            if not math.isfinite(value):
                raise self.fail(node, f"{value!r} is not a finite number")
            return NUMBER
        if isinstance(node, ast.Name):
            return NUMBER
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.condition(node.operand, in_window, "not")
            return BOOLEAN
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self.number(node.operand, in_window, "a sign's operand")
            return NUMBER
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            self.number(node.left, in_window, "arithmetic's operand")
            self.number(node.right, in_window, "arithmetic's operand")
            return NUMBER
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for value in node.values:
                self.condition(value, in_window, word)
            return BOOLEAN
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if self.check(operand, in_window) != NUMBER:
                    raise self.fail(
                        operand, "compares a condition; compare columns and numbers only"
                    )
            return BOOLEAN
        if isinstance(node, ast.Subscript):
            return self.lag(node, node.value, node.slice, in_window)
        if isinstance(node, ast.Call):
            return self.call(node, in_window)
        raise self.fail(node, "is not allowed")

    def lag(self, node: ast.expr, value: ast.expr, bars: ast.expr, in_window: bool) -> str:
        if in_window:
            raise self.fail(node, "a window's argument cannot contain lags (no nested windows)")
        k = _bar_count(self.text, bars, self.values)
        if k < 0:
            raise self.fail(node, f"look-ahead: reads {-k} bar(s) ahead; lags must be >= 0")
        return self.check(value, in_window)

    def call(self, node: ast.Call, in_window: bool) -> str:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise self.fail(node, "is not allowed (call functions by name, no keywords)")
        name, args = node.func.id, node.args
        if name in _LOOKAHEAD_FUNCTIONS:
            raise self.fail(node, f"look-ahead: {name} reads future bars; use lag(x, k)")
        if name not in FUNCTIONS:
            raise self.fail(node, f"unknown function {name!r}; known: {sorted(FUNCTIONS)}")
        if len(args) != FUNCTIONS[name] or any(isinstance(a, ast.Starred) for a in args):
            raise self.fail(node, f"{name} takes {FUNCTIONS[name]} argument(s)")
        if name == "abs":
            self.number(args[0], in_window, "abs's argument")
            return NUMBER
        if name == "lag":
            return self.lag(node, args[0], args[1], in_window)
        if in_window:
            raise self.fail(node, "a window's argument cannot contain windows or crosses")
        if name in ("crosses_above", "crosses_below"):
            self.number(args[0], in_window, f"{name}'s argument")
            self.number(args[1], in_window, f"{name}'s argument")
            return BOOLEAN
        window = _bar_count(self.text, args[1], self.values)
        if window < 1:
            raise self.fail(node, f"{name} needs a window of at least 1 bar, got {window}")
        self.number(args[0], in_window=True, role=f"{name}'s argument")
        if not any(n.id not in self.values for n in _names(args[0])):
            raise self.fail(node, f"{name}'s argument reads no column")
        return NUMBER


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    """`values` as they stood k rows earlier, NaN in the first k rows."""
    if k == 0:
        return values
    out = np.full(len(values), np.nan)
    if k < len(values):
        out[k:] = values[: len(values) - k]
    return out


class _Evaluator:
    """Vectorized evaluation: numbers are float arrays (NaN = missing), conditions bools."""

    def __init__(self, frame: pd.DataFrame, values: Mapping[str, float]) -> None:
        self.frame, self.values = frame, values

    def run(self, node: ast.expr, lag: int):  # noqa: ANN201 - arrays or scalars
        """The value of `node` as it stood `lag` bars earlier."""
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.values:
                return float(self.values[node.id])
            column = self.frame[node.id].to_numpy(dtype="float64", na_value=np.nan)
            return _shift(column, lag)
        if isinstance(node, ast.UnaryOp):
            operand = self.run(node.operand, lag)
            if isinstance(node.op, ast.Not):
                return np.logical_not(operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return _arithmetic(
                _ARITHMETIC[type(node.op)], self.run(node.left, lag), self.run(node.right, lag)
            )
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = self.run(node.values[0], lag)
            for value in node.values[1:]:
                out = combine(out, self.run(value, lag))
            return out
        if isinstance(node, ast.Compare):
            left, out = self.run(node.left, lag), True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.run(right_node, lag)
                out = np.logical_and(out, _compare(_COMPARISONS[type(op)], left, right))
                left = right
            return out
        if isinstance(node, ast.Subscript):
            return self.run(node.value, lag + _bar_count("", node.slice, self.values))
        return self.call(node, lag)

    def call(self, node: ast.Call, lag: int):  # noqa: ANN201
        name, args = node.func.id, node.args
        if name == "abs":
            return np.abs(self.run(args[0], lag))
        if name == "lag":
            return self.run(args[0], lag + _bar_count("", args[1], self.values))
        if name in ("crosses_above", "crosses_below"):
            now, before = (">", "<=") if name == "crosses_above" else ("<", ">=")
            a, b = self.run(args[0], lag), self.run(args[1], lag)
            a1, b1 = self.run(args[0], lag + 1), self.run(args[1], lag + 1)
            return np.logical_and(_compare(now, a, b), _compare(before, a1, b1))
        window = _bar_count("", args[1], self.values)
        values = np.broadcast_to(self.run(args[0], lag), (len(self.frame),)).astype("float64")
        out = np.full(len(values), np.nan)
        if len(values) >= window:
            windows = sliding_window_view(values, window)
            reduce = {"max": np.max, "min": np.min, "avg": np.mean}[_ROLLING[name]]
            out[window - 1 :] = reduce(windows, axis=1)  # NaN anywhere in a window -> NaN
        return out


def _arithmetic(op: str, left, right):  # noqa: ANN001, ANN202
    """`left op right`; division by zero and NaN results (inf - inf) are missing."""
    with np.errstate(all="ignore"):
        if op == "/":
            return np.where(np.asarray(right) == 0, np.nan, np.true_divide(left, right))
        return {"+": np.add, "-": np.subtract, "*": np.multiply}[op](left, right)


def _compare(symbol: str, left, right):  # noqa: ANN001, ANN202
    """A comparison that is False wherever either side is missing."""
    with np.errstate(invalid="ignore"):
        result = _NUMPY_COMPARISONS[symbol](left, right)
    if symbol == "<>":  # NaN <> x is unknown, not true
        result = np.logical_and(result, ~np.isnan(left))
        result = np.logical_and(result, ~np.isnan(right))
    return result


def _number_sql(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(value)


class _Sql:
    """SQL text: lags push down to the columns (`lag(x, k) over (...)`), windows frame-shift."""

    def __init__(self, window: str, values: Mapping[str, float]) -> None:
        self.window, self.values = window, values

    def run(self, node: ast.expr, lag: int) -> str:
        """SQL for `node` as it stood `lag` rows earlier in the window's order."""
        if isinstance(node, ast.Constant):
            return repr(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.values:
                return _number_sql(self.values[node.id])
            return node.id if lag == 0 else f"lag({node.id}, {lag}) over ({self.window})"
        if isinstance(node, ast.UnaryOp):
            operand = self.run(node.operand, lag)
            if isinstance(node.op, ast.Not):
                # pandas reads a comparison with a missing value as False *before* negating
                # it, so the operand must be two-valued here too (SQL's `not NULL` is NULL).
                return f"(not coalesce({operand}, false))"
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                return f"-{operand}"
            return f"(-{operand})" if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            op = _ARITHMETIC[type(node.op)]
            left, right = self.run(node.left, lag), self.run(node.right, lag)
            right = f"nullif({right}, 0)" if op == "/" else right
            return f"nullif({left} {op} {right}, {_NAN_SQL})"
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            return "(" + joiner.join(self.run(v, lag) for v in node.values) + ")"
        if isinstance(node, ast.Compare):
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                parts.append(
                    f"{self.run(left, lag)} {_COMPARISONS[type(op)]} {self.run(right, lag)}"
                )
                left = right
            return "(" + " and ".join(parts) + ")"
        if isinstance(node, ast.Subscript):
            return self.run(node.value, lag + _bar_count("", node.slice, self.values))
        return self.call(node, lag)

    def call(self, node: ast.Call, lag: int) -> str:
        name, args = node.func.id, node.args
        if name == "abs":
            return f"abs({self.run(args[0], lag)})"
        if name == "lag":
            return self.run(args[0], lag + _bar_count("", args[1], self.values))
        if name in ("crosses_above", "crosses_below"):
            now, before = (">", "<=") if name == "crosses_above" else ("<", ">=")
            a, b = self.run(args[0], lag), self.run(args[1], lag)
            a1, b1 = self.run(args[0], lag + 1), self.run(args[1], lag + 1)
            return f"(({a} {now} {b}) and ({a1} {before} {b1}))"
        window = _bar_count("", args[1], self.values)
        value = self.run(args[0], 0)  # no lags inside: the frame carries the offset
        frame = f"{self.window} rows between {window - 1 + lag} preceding and {lag} preceding"
        reduce = _ROLLING[name]
        return (
            f"(case when count({value}) over ({frame}) = {window} "
            f"then {reduce}({value}) over ({frame}) end)"
        )
