"""Strategy parameters: declared ranges, the full grid and seeded random samples."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from signals.expressions import FUNCTIONS
from warehouse.columns import OHLCV

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Parameter:
    """A number referenced by name in conditions: default, inclusive range and grid step."""

    name: str
    default: float
    low: float
    high: float
    step: float | None = None

    @property
    def integer(self) -> bool:
        """Whether default, range and step are whole numbers (e.g. a lag or a window)."""
        numbers = (self.default, self.low, self.high, self.step or 1)
        return all(float(v).is_integer() for v in numbers)

    def cast(self, value: float) -> float:
        """`value` as an int when whole and the parameter is integer, a float otherwise."""
        return int(value) if self.integer and float(value).is_integer() else float(value)

    def grid(self) -> tuple[float, ...]:
        """low, low + step, ... up to high (inclusive); needs a step."""
        if self.step is None:
            raise ValueError(f"parameter {self.name!r} has no step; a grid needs one")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return tuple(self.cast(round(self.low + i * self.step, 12)) for i in range(count))


def parameter_grid(parameters: Sequence[Parameter]) -> list[dict[str, float]]:
    """Every combination of the parameters' grid values, the last parameter varying fastest."""
    names = [p.name for p in parameters]
    grids = [p.grid() for p in parameters]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grids)]


def sample_parameters(parameters: Sequence[Parameter], n: int, seed: int) -> list[dict[str, float]]:
    """`n` parameter sets drawn with a seeded generator (Monte Carlo search).

    With every parameter on a step grid, the draw is without replacement from the full
    grid (all of it, in grid order, when n covers it); a parameter without a step is
    drawn uniformly from its range (rounded when it is an integer parameter).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    if all(p.step is not None for p in parameters):
        grids = [p.grid() for p in parameters]
        total = math.prod(len(g) for g in grids)
        if n >= total:
            return parameter_grid(parameters)
        if n * 2 > total:
            picks = [int(i) for i in rng.permutation(total)[:n]]
        else:
            seen: dict[int, None] = {}  # insertion-ordered set
            while len(seen) < n:
                seen.setdefault(int(rng.integers(total)), None)
            picks = list(seen)
        return [_grid_point(parameters, grids, index) for index in picks]
    return [{p.name: _draw(rng, p) for p in parameters} for _ in range(n)]


def _grid_point(
    parameters: Sequence[Parameter], grids: list[tuple[float, ...]], index: int
) -> dict[str, float]:
    """The `index`-th combination of `parameter_grid` (mixed radix, last fastest)."""
    values = {}
    for p, grid in zip(reversed(parameters), reversed(grids), strict=True):
        index, position = divmod(index, len(grid))
        values[p.name] = grid[position]
    return {p.name: values[p.name] for p in parameters}


def _draw(rng: np.random.Generator, p: Parameter) -> float:
    """One value: from the step grid if any, else uniform in the range."""
    if p.step is not None:
        return p.grid()[int(rng.integers(len(p.grid())))]
    value = rng.uniform(p.low, p.high)
    return p.cast(float(round(value)) if p.integer else float(value))


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} {value!r} is not a finite number")
    return float(value)


def parse_parameters(raw: Any, source: str) -> tuple[Parameter, ...]:
    """`name: {default: x, range: [low, high], step: s}` entries; errors name the entry."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: parameters must map names to {{default, range, step}}")
    out = []
    for name, spec in raw.items():
        where = f"{source}: parameters.{name}"
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise ValueError(f"{where}: the name must be a lower-case identifier")
        if name in FUNCTIONS or name in OHLCV:
            raise ValueError(f"{where}: the name is a function or a bar column")
        if not isinstance(spec, dict) or set(spec) - {"default", "range", "step"}:
            raise ValueError(f"{where}: expected {{default, range: [low, high], step}}")
        bounds = spec.get("range")
        if "default" not in spec or not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise ValueError(f"{where}: needs a default and a range [low, high]")
        default = _number(spec["default"], f"{where}: default")
        low, high = (_number(v, f"{where}: range") for v in bounds)
        step = None if spec.get("step") is None else _number(spec["step"], f"{where}: step")
        if not low <= high:
            raise ValueError(f"{where}: range [{low}, {high}] is empty")
        if not low <= default <= high:
            raise ValueError(f"{where}: default {default} is outside its range [{low}, {high}]")
        if step is not None and step <= 0:
            raise ValueError(f"{where}: step {step} must be positive")
        param = Parameter(name, default, low, high, step)
        out.append(replace(param, default=param.cast(default)))
    return tuple(out)
