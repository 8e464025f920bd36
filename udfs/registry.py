"""Feature registry: `FeatureSpec` declarations, looked up by name every time one is used."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from warehouse.columns import AVAILABLE_AT, SYMBOL, TIMEFRAME, TS

# Output dtypes a runner knows how to store; each runner maps them to its engine's types.
DTYPES = frozenset({"double"})
# Columns every runner writes before the features; no feature may produce them.
RESERVED_COLUMNS = frozenset({SYMBOL, TIMEFRAME, TS, AVAILABLE_AT})
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_log = logging.getLogger(__name__)

FeatureFunc = Callable[[pd.DataFrame], Mapping[str, Any]]


@dataclass(frozen=True)
class FeatureSpec:
    """A feature UDF's contract: the bar columns it reads, the columns it writes, its warm-up.

    `func` receives the bars frame restricted to `inputs` (ascending index) and returns a
    mapping (a dict or a DataFrame) holding one array of `len(bars)` values per output.
    `warmup` is the number of leading bars without a value (for a feature whose outputs
    start at different bars: until every output has one); `output_warmups` optionally
    gives an earlier start for some outputs (see `warmup_of`). `causal` states that the
    value at bar t uses bars <= t only.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: Mapping[str, str]
    warmup: int
    causal: bool
    func: FeatureFunc
    output_warmups: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the collections and reject names or dtypes no runner could store."""
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", MappingProxyType(dict(self.outputs)))
        object.__setattr__(self, "output_warmups", MappingProxyType(dict(self.output_warmups)))
        problems = []
        if not _IDENTIFIER.match(self.name):
            problems.append(f"name {self.name!r} is not a lower-case identifier")
        if not self.inputs:
            problems.append("inputs is empty")
        if not self.outputs:
            problems.append("outputs is empty")
        for column, dtype in self.outputs.items():
            if not _IDENTIFIER.match(column):
                problems.append(f"output {column!r} is not a lower-case identifier")
            if column in RESERVED_COLUMNS:
                problems.append(f"output {column!r} is a reserved column")
            if dtype not in DTYPES:
                problems.append(f"output {column!r} has dtype {dtype!r}, not in {sorted(DTYPES)}")
        if self.name in self.outputs and len(self.outputs) > 1:
            problems.append(f"name {self.name!r} is also one of several outputs (ambiguous)")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            problems.append(f"warmup must be an int >= 0, got {self.warmup!r}")
        for column, bars in self.output_warmups.items():
            if column not in self.outputs:
                problems.append(f"output_warmups names {column!r}, which is not an output")
            elif isinstance(bars, bool) or not isinstance(bars, int) or bars < 0:
                problems.append(f"output_warmups[{column!r}] must be an int >= 0, got {bars!r}")
            elif isinstance(self.warmup, int) and bars > self.warmup:
                problems.append(
                    f"output_warmups[{column!r}] = {bars} exceeds the feature's warmup "
                    f"{self.warmup}"
                )
        if not callable(self.func):
            problems.append("func is not callable")
        if problems:
            raise ValueError(f"invalid FeatureSpec {self.name!r}: " + "; ".join(problems))

    def __hash__(self) -> int:
        """Hash of the declaration (mappings as tuples, since a mapping is unhashable)."""
        outputs = tuple(self.outputs.items())
        warmups = tuple(self.output_warmups.items())
        return hash((self.name, self.inputs, outputs, self.warmup, self.causal, self.func, warmups))

    def __reduce__(self) -> tuple[type, tuple]:
        """Pickle as the constructor call (a mappingproxy does not pickle), for workers."""
        fields = (self.name, self.inputs, dict(self.outputs), self.warmup, self.causal)
        return type(self), (*fields, self.func, dict(self.output_warmups))

    def warmup_of(self, column: str) -> int:
        """Leading bars without a value in output `column` (the feature's warmup by default)."""
        if column not in self.outputs:
            raise ValueError(f"{column!r} is not an output of feature {self.name!r}")
        return self.output_warmups.get(column, self.warmup)


_FEATURES: dict[str, FeatureSpec] = {}


def register_feature(spec: FeatureSpec) -> FeatureSpec:
    """Add `spec` to the registry, replacing a feature of the same name; returns it."""
    clashes = []
    for other in _FEATURES.values():
        if other.name == spec.name:
            continue
        shared = sorted(set(spec.outputs) & set(other.outputs))
        if shared:
            clashes.append(f"outputs {shared} are already produced by {other.name!r}")
        if spec.name in other.outputs:
            clashes.append(f"name {spec.name!r} is an output of {other.name!r}")
        if other.name in spec.outputs:
            clashes.append(f"output {other.name!r} is the name of feature {other.name!r}")
    if clashes:
        raise ValueError(f"cannot register feature {spec.name!r}: " + "; ".join(clashes))
    previous = _FEATURES.get(spec.name)
    if previous is not None and previous != spec:
        _log.warning("feature %r redefined", spec.name)
    _FEATURES[spec.name] = spec
    return spec


def unregister_feature(name: str) -> FeatureSpec:
    """Remove a feature from the registry; returns its spec."""
    get_feature(name)
    return _FEATURES.pop(name)


def get_feature(name: str) -> FeatureSpec:
    """The registered spec called `name`; ValueError listing the known names otherwise."""
    try:
        return _FEATURES[name]
    except KeyError:
        raise ValueError(f"unknown feature {name!r}; known features: {feature_names()}") from None


def feature_names() -> list[str]:
    """Registered feature names, in registration order."""
    return list(_FEATURES)


def output_columns() -> list[str]:
    """Every registered output column, in registration order."""
    return [column for spec in _FEATURES.values() for column in spec.outputs]


def resolve(names: str | Iterable[str] | None = None) -> dict[str, FeatureSpec]:
    """Map each requested output column, in output order, to the spec that computes it.

    A name is an output column (e.g. "macdsignal") or a feature name, which stands for
    all of its outputs; None means every output of every registered feature. Specs are
    fetched through `get_feature` on every call, so a redefined feature is picked up.
    """
    specs = {name: get_feature(name) for name in feature_names()}
    if names is None:
        return {column: spec for spec in specs.values() for column in spec.outputs}
    if isinstance(names, str):
        names = [names]
    producers = {column: spec for spec in specs.values() for column in spec.outputs}
    resolved: dict[str, FeatureSpec] = {}
    unknown = []
    for name in names:
        if name in producers:
            resolved.setdefault(name, producers[name])
        elif name in specs:
            for column in specs[name].outputs:
                resolved.setdefault(column, specs[name])
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(
            f"unknown feature names {unknown}; known features: {list(specs)}; "
            f"known output columns: {list(producers)}"
        )
    return resolved


def output_schema(names: str | Iterable[str] | None = None) -> dict[str, str]:
    """Requested output columns with their dtypes, in output order."""
    return {column: spec.outputs[column] for column, spec in resolve(names).items()}
