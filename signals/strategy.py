"""Strategies declared as data (YAML), validated and compiled to conditions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from signals.expressions import Condition, parse_condition

LIBRARY_DIR = Path(__file__).parent / "library" / "strategies"
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")


@dataclass(frozen=True)
class Strategy:
    """One rule-based strategy: entry/exit conditions, risk limits, costs, timeframes."""

    id: str
    description: str
    timeframes: tuple[str, ...]
    entry: Condition
    exit: Condition
    direction: str = "long"
    stoploss: float | None = None
    take_profit: float | None = None
    position_weight: float = 1.0
    fees: float = 0.0
    slippage: float = 0.0
    source: str = field(default="", compare=False)

    def instance_id(self, timeframe: str) -> str:
        """The strategy_id of this strategy on one timeframe, e.g. `macd_cci_5m`."""
        return f"{self.id}_{timeframe}"

    def with_overrides(self, **changes: Any) -> Strategy:
        """A copy with some parameters changed (e.g. take_profit)."""
        return replace(self, **changes)


def _fail(source: str, message: str) -> ValueError:
    return ValueError(f"{source}: {message}")


def _number(spec: dict[str, Any], name: str, source: str) -> float | None:
    """The numeric field `name`, None when absent; an error naming it otherwise."""
    value = spec.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _fail(source, f"{name} {value!r} is not a number") from None


def strategy_from_dict(spec: dict[str, Any], source: str = "<dict>") -> Strategy:
    """Validate a declaration; errors name the file and the offending field."""
    required = ("id", "timeframes", "entry", "exit")
    missing = [k for k in required if k not in spec]
    if missing:
        raise _fail(source, f"missing field(s) {missing}; expected at least {list(required)}")
    known = {
        "id",
        "description",
        "timeframes",
        "entry",
        "exit",
        "direction",
        "stoploss",
        "take_profit",
        "position_weight",
        "fees",
        "slippage",
    }
    unknown = sorted(set(spec) - known)
    if unknown:
        raise _fail(source, f"unknown field(s) {unknown}; known: {sorted(known)}")
    raw_timeframes = spec["timeframes"]
    timeframes = (raw_timeframes,) if isinstance(raw_timeframes, str) else tuple(raw_timeframes)
    bad = [t for t in timeframes if t not in TIMEFRAMES]
    if bad or not timeframes:
        raise _fail(source, f"timeframes {bad or '[]'} invalid; choose from {list(TIMEFRAMES)}")
    direction = spec.get("direction", "long")
    if direction not in ("long", "short"):
        raise _fail(source, f"direction {direction!r} must be 'long' or 'short'")
    numbers = {
        name: _number(spec, name, source)
        for name in ("stoploss", "take_profit", "position_weight", "fees", "slippage")
    }
    stoploss, take_profit = numbers["stoploss"], numbers["take_profit"]
    if stoploss is not None and not -1 < stoploss < 0:
        raise _fail(source, f"stoploss {stoploss} must be a negative fraction, e.g. -0.1")
    if take_profit is not None and take_profit <= 0:
        raise _fail(source, f"take_profit {take_profit} must be a positive fraction")
    weight = 1.0 if numbers["position_weight"] is None else numbers["position_weight"]
    if not 0 < weight <= 1:
        raise _fail(source, f"position_weight {weight} must be in (0, 1]")
    for name in ("fees", "slippage"):
        if (numbers[name] or 0.0) < 0:
            raise _fail(source, f"{name} {numbers[name]} must not be negative")
    conditions = {}
    for name in ("entry", "exit"):
        try:
            conditions[name] = parse_condition(str(spec[name]))
        except ValueError as exc:
            raise _fail(source, f"{name}: {exc}") from None
    entry, exit_ = conditions["entry"], conditions["exit"]
    return Strategy(
        id=str(spec["id"]),
        description=str(spec.get("description", "")),
        timeframes=timeframes,
        entry=entry,
        exit=exit_,
        direction=direction,
        stoploss=stoploss,
        take_profit=take_profit,
        position_weight=weight,
        fees=numbers["fees"] or 0.0,
        slippage=numbers["slippage"] or 0.0,
        source=source,
    )


def load_strategy(path: Path) -> Strategy:
    """Read one YAML declaration."""
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict):
        raise _fail(str(path), "expected a mapping of fields, found " + type(spec).__name__)
    return strategy_from_dict(spec, source=str(path))


def load_library(directory: Path = LIBRARY_DIR) -> list[Strategy]:
    """Every strategy declared in `directory` (sorted by id)."""
    strategies = [load_strategy(p) for p in sorted(directory.glob("*.yaml"))]
    return sorted(strategies, key=lambda s: s.id)
