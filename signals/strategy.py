"""Strategies declared as data (YAML), validated and compiled to conditions."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from signals.expressions import Condition, ExpressionError, parse_condition
from signals.parameters import Parameter, parameter_grid, parse_parameters, sample_parameters

LIBRARY_DIR = Path(__file__).parent / "library" / "strategies"
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
TIMEFRAME_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
# minimal_roi keys: a number of minutes (freqtrade's convention) or "<n> bars|m|h|d".
_AGE = re.compile(r"^\s*(\d+)\s*(bars?|b|m|min|minutes?|h|hours?|d|days?)?\s*$")
_UNIT_MINUTES = {"m": 1, "min": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_UNIT_MINUTES |= {"d": 1440, "day": 1440, "days": 1440}


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
    minimal_roi: tuple[tuple[int, str, float], ...] = ()  # (age, "bars"|"minutes", return)
    trailing_stop: float | None = None  # fraction under the best price since entry
    trailing_offset: float | None = None  # trailing starts once the trade gains this much
    parameters: tuple[Parameter, ...] = ()
    demo: bool = True  # False: the asset graph (demo, build, replay) skips it by default
    source: str = field(default="", compare=False)

    @property
    def parameter_values(self) -> dict[str, float]:
        """Each parameter's current value, in declaration order."""
        bound = self.entry.values | self.exit.values
        return {p.name: bound[p.name] for p in self.parameters}

    def variant(self) -> str:
        """'' with default parameters, else a short stable hash of the values."""
        values = self.parameter_values
        if all(values[p.name] == p.default for p in self.parameters):
            return ""
        key = json.dumps(sorted(values.items()))
        return "p" + hashlib.sha256(key.encode()).hexdigest()[:8]

    def instance_id(self, timeframe: str) -> str:
        """The strategy_id of this strategy on one timeframe, e.g. `macd_cci_5m`."""
        variant = self.variant()
        return f"{self.id}_{timeframe}" + (f"_{variant}" if variant else "")

    def with_overrides(self, **changes: Any) -> Strategy:
        """A copy with some fields changed (e.g. take_profit)."""
        return replace(self, **changes)

    def with_parameters(self, **values: float) -> Strategy:
        """A copy with some parameters set; unknown names or values out of range raise."""
        declared = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise ValueError(
                f"{self.id}: unknown parameter(s) {unknown}; declared: {sorted(declared)}"
            )
        cast = {}
        for name, value in values.items():
            spec = declared[name]
            if not spec.low <= value <= spec.high:
                raise ValueError(
                    f"{self.id}: parameter {name} = {value} is outside its range "
                    f"[{spec.low}, {spec.high}]"
                )
            cast[name] = spec.cast(value)
        return replace(
            self,
            entry=self.entry.bind({k: v for k, v in cast.items() if k in self.entry.values}),
            exit=self.exit.bind({k: v for k, v in cast.items() if k in self.exit.values}),
        )

    def parameter_grid(self) -> list[dict[str, float]]:
        """Every combination of the parameters' grid values (each needs a step)."""
        return parameter_grid(self.parameters)

    def sample_parameters(self, n: int, seed: int) -> list[dict[str, float]]:
        """`n` seeded random parameter sets (Monte Carlo); see `signals.parameters`."""
        return sample_parameters(self.parameters, n, seed)

    def check_columns(self, available: Iterable[str]) -> None:
        """Raise naming the unknown columns of entry or exit, or a parameter shadowing one."""
        available = set(available)
        shadowing = sorted(p.name for p in self.parameters if p.name in available)
        if shadowing:
            raise ExpressionError(f"{self.id}: parameter(s) {shadowing} shadow feature columns")
        for name, condition in (("entry", self.entry), ("exit", self.exit)):
            try:
                condition.check_columns(available)
            except ExpressionError as exc:
                declared = [p.name for p in self.parameters]
                raise ExpressionError(
                    f"{self.source or self.id}: {name}: {exc}; declared parameters: {declared}"
                ) from None

    def roi_bars(self, timeframe: str) -> tuple[tuple[int, float], ...]:
        """The minimal-ROI table in bars held on `timeframe` (ages in minutes round up)."""
        minutes = TIMEFRAME_MINUTES[timeframe]
        table: dict[int, float] = {}
        ordered = sorted(self.minimal_roi, key=lambda r: r[0] * (minutes if r[1] == "bars" else 1))
        for age, unit, ret in ordered:
            table[age if unit == "bars" else math.ceil(age / minutes)] = ret
        return tuple(sorted(table.items()))

    def backtest_options(self, timeframe: str | None) -> dict[str, Any]:
        """The `backtest_signals` keyword options this declaration sets beyond the basics."""
        options: dict[str, Any] = {}
        if self.minimal_roi:
            if timeframe is None:
                raise ValueError(f"{self.id}: minimal_roi needs the timeframe of the bars")
            options["roi"] = self.roi_bars(timeframe)
        if self.trailing_stop is not None:
            options["trailing_stop"] = self.trailing_stop
            if self.trailing_offset is not None:
                options["trailing_offset"] = self.trailing_offset
        return options


def _fail(source: str, message: str) -> ValueError:
    return ValueError(f"{source}: {message}")


def _number(spec: dict[str, Any], name: str, source: str) -> float | None:
    """The numeric field `name`, None when absent; an error naming it otherwise."""
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(source, f"{name} {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _fail(source, f"{name} {value!r} is not a number") from None


def _minimal_roi(raw: Any, source: str) -> tuple[tuple[int, str, float], ...]:
    """`{age: return}`: ages in minutes (freqtrade) or '<n> bars' / '<n>m|h|d'."""
    if not isinstance(raw, dict) or not raw:
        raise _fail(source, f"minimal_roi must map trade ages to returns, got {raw!r}")
    table = []
    for key, value in raw.items():
        match = _AGE.match(str(key)) if not isinstance(key, bool) else None
        if match is None:
            raise _fail(source, f"minimal_roi: age {key!r} is not minutes or '<n> bars'")
        age, unit = int(match.group(1)), match.group(2) or "m"
        ret = _number({"return": value}, "return", f"{source}: minimal_roi[{key!r}]")
        if ret is None or not math.isfinite(ret) or ret <= -1:
            raise _fail(source, f"minimal_roi[{key!r}]: return {value!r} must be > -1")
        if unit.startswith("b"):
            table.append((age, "bars", ret))
        else:
            table.append((age * _UNIT_MINUTES[unit], "minutes", ret))
    return tuple(sorted(table))


def _trailing(raw: Any, source: str) -> tuple[float | None, float | None]:
    """`trailing_stop: 0.02` or `{fraction: 0.02, offset: 0.03}`."""
    spec = raw if isinstance(raw, dict) else {"fraction": raw}
    if set(spec) - {"fraction", "offset"}:
        raise _fail(source, f"trailing_stop: expected a fraction or {{fraction, offset}}: {raw!r}")
    fraction = _number(spec, "fraction", f"{source}: trailing_stop")
    offset = _number(spec, "offset", f"{source}: trailing_stop")
    if fraction is None or not 0 < fraction < 1:
        raise _fail(source, f"trailing_stop fraction {fraction} must be in (0, 1)")
    if offset is not None and offset < 0:
        raise _fail(source, f"trailing_stop offset {offset} must not be negative")
    return fraction, offset


def _check_parameter_ranges(strategy: Strategy, source: str) -> None:
    """Every parameter must be used, and valid (e.g. not look-ahead) across its range."""
    used = set(strategy.entry.values) | set(strategy.exit.values)
    unused = [p.name for p in strategy.parameters if p.name not in used]
    if unused:
        raise _fail(source, f"parameter(s) {unused} declared but used by neither entry nor exit")
    for p in strategy.parameters:
        for value in (p.low, p.high):
            try:
                strategy.with_parameters(**{p.name: value})
            except ExpressionError as exc:
                raise _fail(source, f"parameters.{p.name} = {value} (range end): {exc}") from None


KNOWN_FIELDS = [
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
    "minimal_roi",
    "trailing_stop",
    "parameters",
    "demo",
]


def strategy_from_dict(spec: dict[str, Any], source: str = "<dict>") -> Strategy:
    """Validate a declaration; errors name the file and the offending field."""
    required = ("id", "timeframes", "entry", "exit")
    missing = [k for k in required if k not in spec]
    if missing:
        raise _fail(source, f"missing field(s) {missing}; expected at least {list(required)}")
    unknown = sorted(set(spec) - set(KNOWN_FIELDS))
    if unknown:
        raise _fail(source, f"unknown field(s) {unknown}; known: {sorted(KNOWN_FIELDS)}")
    if not isinstance(spec["id"], str) or not _ID.match(spec["id"]):
        raise _fail(source, f"id {spec['id']!r} must be a lower-case identifier, e.g. rsi_dip")
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
        if not 0 <= (numbers[name] or 0.0) < 1:
            raise _fail(source, f"{name} {numbers[name]} must be a fraction in [0, 1)")
    demo = spec.get("demo", True)
    if not isinstance(demo, bool):
        raise _fail(source, f"demo {demo!r} must be true or false")
    parameters = parse_parameters(spec["parameters"], source) if "parameters" in spec else ()
    values = {p.name: p.default for p in parameters}
    conditions = {}
    for name in ("entry", "exit"):
        try:
            conditions[name] = parse_condition(str(spec[name]), values)
        except ValueError as exc:
            raise _fail(source, f"{name}: {exc}") from None
    roi = _minimal_roi(spec["minimal_roi"], source) if spec.get("minimal_roi") is not None else ()
    trailing = (None, None)
    if spec.get("trailing_stop") is not None:
        trailing = _trailing(spec["trailing_stop"], source)
    strategy = Strategy(
        id=str(spec["id"]),
        description=str(spec.get("description", "")),
        timeframes=timeframes,
        entry=conditions["entry"],
        exit=conditions["exit"],
        direction=direction,
        stoploss=stoploss,
        take_profit=take_profit,
        position_weight=weight,
        fees=numbers["fees"] or 0.0,
        slippage=numbers["slippage"] or 0.0,
        minimal_roi=roi,
        trailing_stop=trailing[0],
        trailing_offset=trailing[1],
        parameters=parameters,
        demo=demo,
        source=source,
    )
    _check_parameter_ranges(strategy, source)
    return strategy


def load_strategy(path: Path) -> Strategy:
    """Read one YAML declaration."""
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict):
        raise _fail(str(path), "expected a mapping of fields, found " + type(spec).__name__)
    return strategy_from_dict(spec, source=str(path))


def load_library(directory: Path = LIBRARY_DIR, *, demo_only: bool = False) -> list[Strategy]:
    """Every strategy declared in `directory` (sorted by id); `demo_only`: those with demo."""
    strategies = [load_strategy(p) for p in sorted(directory.glob("*.yaml"))]
    return sorted((s for s in strategies if s.demo or not demo_only), key=lambda s: s.id)
