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
    timeframes = tuple(spec["timeframes"])
    bad = [t for t in timeframes if t not in TIMEFRAMES]
    if bad or not timeframes:
        raise _fail(source, f"timeframes {bad or '[]'} invalid; choose from {list(TIMEFRAMES)}")
    direction = spec.get("direction", "long")
    if direction not in ("long", "short"):
        raise _fail(source, f"direction {direction!r} must be 'long' or 'short'")
    stoploss = spec.get("stoploss")
    if stoploss is not None and not -1 < float(stoploss) < 0:
        raise _fail(source, f"stoploss {stoploss} must be a negative fraction, e.g. -0.1")
    take_profit = spec.get("take_profit")
    if take_profit is not None and float(take_profit) <= 0:
        raise _fail(source, f"take_profit {take_profit} must be a positive fraction")
    weight = float(spec.get("position_weight", 1.0))
    if not 0 < weight <= 1:
        raise _fail(source, f"position_weight {weight} must be in (0, 1]")
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
        stoploss=None if stoploss is None else float(stoploss),
        take_profit=None if take_profit is None else float(take_profit),
        position_weight=weight,
        fees=float(spec.get("fees", 0.0)),
        slippage=float(spec.get("slippage", 0.0)),
        source=source,
    )


def load_strategy(path: Path) -> Strategy:
    """Read one YAML declaration."""
    return strategy_from_dict(yaml.safe_load(path.read_text()), source=str(path))


def load_library(directory: Path = LIBRARY_DIR) -> list[Strategy]:
    """Every strategy declared in `directory` (sorted by id)."""
    strategies = [load_strategy(p) for p in sorted(directory.glob("*.yaml"))]
    return sorted(strategies, key=lambda s: s.id)
