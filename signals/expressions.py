"""A small condition language over feature columns, compiled to pandas and to SQL."""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Eq: "=",
    ast.NotEq: "<>",
}


class ExpressionError(ValueError):
    """An invalid condition; the message quotes the expression and the offending part."""


@dataclass(frozen=True)
class Condition:
    """A parsed boolean condition such as `macd > macdsignal and cci <= -50`."""

    text: str
    tree: ast.expr = field(compare=False)  # ast nodes compare by identity

    @property
    def columns(self) -> frozenset[str]:
        """Feature columns the condition reads."""
        return frozenset(n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name))

    def check_columns(self, available: Iterable[str]) -> None:
        """Raise naming the unknown columns, if any."""
        unknown = sorted(self.columns - set(available))
        if unknown:
            raise ExpressionError(
                f"condition {self.text!r}: unknown column(s) {unknown}; "
                f"available: {sorted(available)}"
            )

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """True where the condition holds; comparisons with missing values are False."""
        self.check_columns(frame.columns)
        result = _eval(self.tree, frame)
        return pd.Series(np.asarray(result, dtype=bool), index=frame.index)

    def to_sql(self) -> str:
        """The same condition as a SQL boolean expression (NULL counts as false)."""
        return f"coalesce({_sql(self.tree)}, false)"


def parse_condition(text: str) -> Condition:
    """Parse and validate a condition; errors point at the offending sub-expression."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"condition {text!r}: syntax error at column {exc.offset}") from None
    for node in ast.walk(tree):
        allowed = (
            ast.BoolOp,
            ast.And,
            ast.Or,
            ast.UnaryOp,
            ast.Not,
            ast.USub,
            ast.Compare,
            ast.Name,
            ast.Load,
            ast.Constant,
            *_COMPARISONS,
        )
        if not isinstance(node, allowed):
            raise ExpressionError(f"condition {text!r}: {ast.unparse(node)!r} is not allowed")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int | float)
        ):
            raise ExpressionError(f"condition {text!r}: {node.value!r} is not a number")
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and not isinstance(node.operand, ast.Constant)
        ):
            raise ExpressionError(f"condition {text!r}: negation applies to numbers only")
        if isinstance(node, ast.Constant) and not math.isfinite(node.value):
            raise ExpressionError(f"condition {text!r}: {node.value!r} is not a finite number")
        # and/or/not combine conditions, comparisons compare columns and numbers: anything
        # else (`macd and cci`, `(a > b) > c`) would mean different things in pandas and SQL.
        if isinstance(node, ast.BoolOp | ast.UnaryOp) and _is_condition(node):
            for operand in node.values if isinstance(node, ast.BoolOp) else [node.operand]:
                if not _is_condition(operand):
                    raise ExpressionError(
                        f"condition {text!r}: {ast.unparse(operand)!r} is not a comparison"
                    )
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if _is_condition(operand):
                    raise ExpressionError(
                        f"condition {text!r}: {ast.unparse(operand)!r} compares a condition; "
                        "compare columns and numbers only"
                    )
    if not isinstance(tree, ast.BoolOp | ast.Compare | ast.UnaryOp) or (
        isinstance(tree, ast.UnaryOp) and not isinstance(tree.op, ast.Not)
    ):
        raise ExpressionError(f"condition {text!r}: must be a comparison or a boolean expression")
    return Condition(text=text.strip(), tree=tree)


def _is_condition(node: ast.expr) -> bool:
    return isinstance(node, ast.BoolOp | ast.Compare) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    )


def _eval(node: ast.expr, frame: pd.DataFrame):  # noqa: ANN202 - numpy arrays or scalars
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, frame) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = values[0]
        for value in values[1:]:
            out = combine(out, value)
        return out
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, frame)
        return np.logical_not(operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame)
        out = None
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, frame)
            with np.errstate(invalid="ignore"):
                step = _compare(op, left, right)
            out = step if out is None else np.logical_and(out, step)
            left = right
        return out
    if isinstance(node, ast.Name):
        return frame[node.id].to_numpy(dtype="float64", na_value=np.nan)
    assert isinstance(node, ast.Constant)
    return node.value


def _compare(op: ast.cmpop, left, right):  # noqa: ANN001, ANN202
    symbol = _COMPARISONS[type(op)]
    functions = {
        ">": np.greater,
        ">=": np.greater_equal,
        "<": np.less,
        "<=": np.less_equal,
        "=": np.equal,
        "<>": np.not_equal,
    }
    result = functions[symbol](left, right)
    if symbol == "<>":  # NaN <> x is unknown, not true
        result = np.logical_and(result, ~np.isnan(left) if np.ndim(left) else True)
        result = np.logical_and(result, ~np.isnan(right) if np.ndim(right) else True)
    return result


def _sql(node: ast.expr) -> str:
    if isinstance(node, ast.BoolOp):
        joiner = " and " if isinstance(node.op, ast.And) else " or "
        return "(" + joiner.join(_sql(v) for v in node.values) + ")"
    if isinstance(node, ast.UnaryOp):
        return (
            # pandas reads a comparison with a missing value as False *before* negating it,
            # so the operand must be two-valued here too (SQL's `not NULL` is NULL).
            f"(not coalesce({_sql(node.operand)}, false))"
            if isinstance(node.op, ast.Not)
            else f"-{_sql(node.operand)}"
        )
    if isinstance(node, ast.Compare):
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(f"{_sql(left)} {_COMPARISONS[type(op)]} {_sql(right)}")
            left = right
        return "(" + " and ".join(parts) + ")"
    if isinstance(node, ast.Name):
        return node.id
    assert isinstance(node, ast.Constant)
    return repr(node.value)
