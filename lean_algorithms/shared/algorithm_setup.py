"""Set-up shared by the signalyard LEAN algorithms: parameters and traded securities."""

# Copied into every exported LEAN project beside signal_data.py; imports nothing from
# signalyard. LEAN projects import their API with `from AlgorithmImports import *`:
# ruff: noqa: F403, F405

from __future__ import annotations

from datetime import date, datetime

from AlgorithmImports import *
from signal_data import (
    DATA_ROOT,
    SignalFileData,
    UniverseEntry,
    default_account_currency,
    load_universe,
)

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


def wire_signals(
    algorithm: QCAlgorithm, data_type: type[SignalFileData], root: str = DATA_ROOT
) -> list[UniverseEntry]:
    """Clock, dates, account and subscriptions for the strategy's universe; the universe."""
    strategy_id = algorithm.get_parameter("strategy_id", "")
    data_type.configure(strategy_id)
    universe = load_universe(algorithm, strategy_id, root)
    if not universe:
        raise ValueError(f"strategy {strategy_id!r}: universe.csv lists no symbols")
    algorithm.set_time_zone(TimeZones.UTC)
    algorithm.set_start_date(date_parameter(algorithm, "start_date", first_signal_date(universe)))
    algorithm.set_end_date(date_parameter(algorithm, "end_date", last_signal_date(universe)))
    if all(entry.market == Market.BINANCE for entry in universe):
        # Signals go short as well as long, which a Binance cash account cannot do.
        algorithm.set_brokerage_model(BrokerageName.BINANCE, AccountType.MARGIN)
    currency = algorithm.get_parameter("account_currency", "")
    algorithm.set_account_currency(currency or default_account_currency(universe))
    algorithm.set_cash(algorithm.get_parameter("cash", 100_000.0))
    resolution = resolution_parameter(algorithm, "resolution", "minute")
    for entry in universe:
        traded = add_traded_security(algorithm, entry, resolution)
        # Signal files hold UTC times; the data time zone makes LEAN read them as such.
        algorithm.add_data(data_type, traded, resolution, TimeZones.UTC)
    return universe
