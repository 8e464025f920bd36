"""Set-up shared by the signalyard LEAN algorithms: parameters and traded securities."""

# Copied into every exported LEAN project beside signal_data.py; imports nothing from
# signalyard. LEAN projects import their API with `from AlgorithmImports import *`:
# ruff: noqa: F403, F405

from __future__ import annotations

from datetime import date, datetime

from AlgorithmImports import *
from signal_data import UniverseEntry

RESOLUTIONS = {
    "minute": Resolution.MINUTE,
    "hour": Resolution.HOUR,
    "daily": Resolution.DAILY,
}


def add_traded_security(
    algorithm: QCAlgorithm, entry: UniverseEntry, resolution: Resolution
) -> Symbol:
    """Subscribe the traded security named by one universe.csv row."""
    if entry.security_type == "crypto":
        return algorithm.add_crypto(entry.symbol, resolution, entry.market).symbol
    return algorithm.add_equity(entry.symbol, resolution, entry.market).symbol


def resolution_parameter(algorithm: QCAlgorithm, name: str, default: str) -> Resolution:
    """A resolution parameter: minute, hour or daily."""
    text = algorithm.get_parameter(name, default)
    if text not in RESOLUTIONS:
        raise ValueError(f"parameter {name!r}: {text!r} is not one of {sorted(RESOLUTIONS)}")
    return RESOLUTIONS[text]


def date_parameter(algorithm: QCAlgorithm, name: str, default: date) -> date:
    """A `YYYY-MM-DD` parameter, or `default` when it is not set."""
    text = algorithm.get_parameter(name, "")
    if not text:
        return default
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"parameter {name!r}: {text!r} is not a YYYY-MM-DD date") from None


def first_signal_date(universe: list[UniverseEntry]) -> date:
    """The UTC date of the strategy's first signal."""
    return min(entry.first_signal_timestamp for entry in universe).date()


def last_signal_date(universe: list[UniverseEntry]) -> date:
    """The UTC date of the strategy's last signal."""
    return max(entry.last_signal_timestamp for entry in universe).date()
