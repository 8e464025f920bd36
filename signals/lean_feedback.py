"""Read LEAN backtest results and live order events into order, fill and position frames."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd


def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of `text`."""
    return tuple(text.split())


def _columns(spec: str) -> dict[str, str]:
    """Column name -> dtype from "name:dtype ..." ("utc" is a microsecond UTC timestamp)."""
    pairs = (word.split(":") for word in _words(spec))
    return {name: "datetime64[us, UTC]" if dtype == "utc" else dtype for name, dtype in pairs}


# Backtest `<id>.json` "orders": LEAN's Order classes as the result handler serializes them
# (camelCase, enums as numbers): Common/Orders/Order.cs plus LimitOrder.cs, StopMarketOrder.cs,
# StopLimitOrder.cs, LimitIfTouchedOrder.cs, TrailingStopOrder.cs; `symbol` through
# Common/SymbolJsonConverter.cs, `orderSubmissionData` from OrderSubmissionData.cs.
ORDER_FIELDS = frozenset(
    _words(
        "type id contingentId brokerId symbol price priceCurrency time createdTime lastFillTime "
        "lastUpdateTime canceledTime quantity status tag properties securityType direction value "
        "orderSubmissionData isMarketable groupOrderManager priceAdjustmentMode limitPrice "
        "stopPrice stopTriggered triggerPrice triggerTouched trailingAmount trailingAsPercentage"
    )
)
# `<id>-order-events.json` and live events: Common/Orders/Serialization/SerializedOrderEvent.cs.
EVENT_FIELDS = frozenset(
    _words(
        "id algorithmId orderId orderEventId symbol symbolValue symbolPermtick time status "
        "orderFeeAmount orderFeeCurrency fillPrice fillPriceCurrency fillQuantity direction "
        "message isAssignment quantity stopPrice limitPrice isInTheMoney executionId"
    )
)
# Common/Orders/OrderTypes.cs: OrderType, OrderStatus (4 is unused) and OrderDirection.
ORDER_TYPES = _words(
    "market limit stop_market stop_limit market_on_open market_on_close option_exercise "
    "limit_if_touched combo_market combo_limit combo_leg_limit trailing_stop"
)
_STATUS_CODES = "0:new 1:submitted 2:partially_filled 3:filled 5:canceled 6:none 7:invalid"
ORDER_STATUSES = {int(k): v for k, v in _columns(_STATUS_CODES + " 8:cancel_pending").items()}
ORDER_STATUSES[9] = "update_submitted"
DIRECTIONS = ("buy", "sell", "hold")
TYPE_NAMES, DIRECTION_NAMES = dict(enumerate(ORDER_TYPES)), dict(enumerate(DIRECTIONS))
_CURRENT_FIELDS = ("quantity", "limitPrice", "stopPrice")  # an event's order state
FILL_STATUSES = ("filled", "partially_filled")
# Order tags: "<signal_id>" for the entry, "<signal_id>:<leg>" for the bracket's other orders.
LEGS = ("entry", "stop_loss", "take_profit", "exit")
CLOSING_LEGS = ("stop_loss", "take_profit", "exit")
_STATS = (("statistics", "statistics"), ("runtimeStatistics", "runtime"))
TABLES = ("orders", "fills", "positions", "statistics")
SCHEMA = "lean"

ORDER_COLUMNS = _columns(
    "order_id:int64 symbol:str order_type:str direction:str quantity:float64 limit_price:float64 "
    "stop_price:float64 status:str tag:str signal_id:str leg:str created_time:utc"
)
EVENT_COLUMNS = _columns(
    "order_id:int64 event_id:int64 symbol:str time:utc status:str direction:str "
    "fill_price:float64 fill_quantity:float64 fee:float64 fee_currency:str quantity:float64 "
    "limit_price:float64 stop_price:float64 message:str"
)
FILL_COLUMNS = _words("order_id symbol time fill_price fill_quantity fee fee_currency")
POSITION_COLUMNS = _columns(
    "symbol:str time:utc order_id:int64 fill_quantity:float64 fill_price:float64 "
    "quantity:float64 average_price:float64"
)
STATISTIC_COLUMNS = _columns("source:str name:str raw:str value:float64")
_NUMBER = re.compile(
    r"(?P<sign>[-+])?\s*(?P<currency>[^\d\s.,+-]{0,4})\s*(?P<sign2>[-+])?"
    r"(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(?P<percent>%)?"
)


class LeanResultError(ValueError):
    """A LEAN result or order-event file that does not parse: names file, record and field."""


@dataclass(frozen=True)
class LeanFeedback:
    """Orders, order events, fills, positions and statistics of one LEAN run."""

    orders: pd.DataFrame
    events: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    statistics: pd.DataFrame


def read_backtest(folder: Path | str, backtest_id: str | None = None) -> LeanFeedback:
    """Read `<id>.json` and `<id>-order-events.json` of a LEAN backtest result folder."""
    folder = Path(folder)
    if backtest_id is None:
        found = sorted(folder.glob("*-order-events.json"))
        if len(found) != 1:
            names = [path.name for path in found]
            raise LeanResultError(f"{folder}: expected one *-order-events.json file, found {names}")
        backtest_id = found[0].name.removesuffix("-order-events.json")
    result_path = folder / f"{backtest_id}.json"
    events_path = folder / f"{backtest_id}-order-events.json"
    result = _load_json(result_path)
    raw_orders = (result.get("orders") or {}) if isinstance(result, dict) else None
    if not isinstance(raw_orders, dict):
        raise LeanResultError(f"{result_path}: expected an object whose 'orders' maps id -> order")
    raw_events = _load_json(events_path)
    if not isinstance(raw_events, list):
        raise LeanResultError(f"{events_path}: expected a JSON array of order events")
    events = parse_events(raw_events, events_path)
    tables = [parse_statistics(result.get(k) or {}, f"{result_path}: {k}", s) for k, s in _STATS]
    statistics = pd.concat(tables, ignore_index=True)
    return _feedback(parse_orders(raw_orders, result_path), events, statistics)


def read_live_order_events(path: Path | str, orders: pd.DataFrame | None = None) -> LeanFeedback:
    """Read live order events (one JSON object a line); orders from `orders` or the events."""
    path = Path(path)
    records = []
    lines = enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    for number, line in ((number, line) for number, line in lines if line.strip()):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise LeanResultError(f"{path}: line {number}, column {err.colno}: {err.msg}") from err
    events = parse_events(records, path)
    derived = orders if orders is not None else orders_from_events(events)
    return _feedback(derived, events, _frame([], STATISTIC_COLUMNS))


def _feedback(orders: pd.DataFrame, events: pd.DataFrame, stats: pd.DataFrame) -> LeanFeedback:
    """Bundle the frames, deriving fills and positions from the events."""
    fills = fills_from_events(events)
    return LeanFeedback(orders, events, fills, positions_from_fills(fills), stats)


def _load_json(path: Path) -> Any:
    """Parse a JSON file; errors name the file, line and column."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise LeanResultError(f"{path}: file not found") from err
    except json.JSONDecodeError as err:
        raise LeanResultError(f"{path}: line {err.lineno}, column {err.colno}: {err.msg}") from err


def parse_orders(raw: Mapping[str, Any], source: Path | str) -> pd.DataFrame:
    """LEAN's serialized orders (by id) as the `orders` frame."""
    rows = []
    for key, record in raw.items():
        where = f"{source}: orders[{key!r}]"
        fields = _record(record, where, ORDER_FIELDS, ("id", "symbol", "type", "status"))
        quantity = _number(fields, "quantity", where)
        fields.setdefault("direction", 0 if quantity > 0 else 1 if quantity < 0 else 2)
        order_id, symbol = _integer(fields, "id", where), _symbol(fields["symbol"], where)
        kind = _enum(fields, "type", TYPE_NAMES, where)
        status = _enum(fields, "status", ORDER_STATUSES, where)
        direction, tag = _enum(fields, "direction", DIRECTION_NAMES, where), fields.get("tag") or ""
        limit, stop = (_number(fields, name, where, None) for name in ("limitPrice", "stopPrice"))
        created = _time(fields.get("createdTime", fields.get("time")), where, "createdTime")
        values = (order_id, symbol, kind, direction, quantity, limit, stop, status, tag)
        rows.append((*values, *split_tag(tag), created))
    return _frame(rows, ORDER_COLUMNS).sort_values("order_id", ignore_index=True)


def parse_events(records: Iterable[Any], source: Path | str) -> pd.DataFrame:
    """Serialized order events as the `events` frame, in time order."""
    rows = []
    for index, record in enumerate(records):
        where = f"{source}: record {index}"
        fields = _record(record, where, EVENT_FIELDS, ("orderId", "symbol", "time", "status"))
        symbol = fields.get("symbolValue") or _symbol(fields["symbol"], where)
        ids = (_integer(fields, "orderId", where), _integer(fields, "orderEventId", where, index))
        time = _time(fields["time"], where, "time")
        status = _enum(fields, "status", ORDER_STATUSES, where)
        direction = _enum(fields, "direction", DIRECTION_NAMES, where, "hold")
        fill = [_number(fields, name, where, 0.0) for name in ("fillPrice", "fillQuantity")]
        fee = _number(fields, "orderFeeAmount", where, 0.0)
        currency = fields.get("orderFeeCurrency")
        current = [_number(fields, name, where, None) for name in _CURRENT_FIELDS]
        values = (*ids, symbol, time, status, direction, *fill, fee, currency, *current)
        rows.append((*values, fields.get("message", "")))
    frame = _frame(rows, EVENT_COLUMNS)
    return frame.sort_values(["time", "order_id", "event_id"], kind="mergesort", ignore_index=True)


def _record(record: Any, where: str, known: frozenset[str], required: tuple[str, ...]) -> dict:
    """A JSON object with only known fields and all required ones."""
    if not isinstance(record, dict):
        raise LeanResultError(f"{where}: expected a JSON object, got {type(record).__name__}")
    unknown = sorted(set(record) - known)
    if unknown:
        raise LeanResultError(f"{where}: unknown field(s) {unknown}")
    missing = [name for name in required if record.get(name) is None]
    if missing:
        raise LeanResultError(f"{where}: missing field(s) {missing}")
    return dict(record)


def _number(fields: Mapping[str, Any], name: str, where: str, default: Any = ...) -> Any:
    """A finite numeric field; `default` when absent or null (required without one)."""
    value = fields.get(name)
    if value is None:
        if default is ...:
            raise LeanResultError(f"{where}: field {name!r} is missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LeanResultError(f"{where}: field {name!r}: {value!r} is not a finite number")
    return float(value)


def _integer(fields: Mapping[str, Any], name: str, where: str, default: Any = ...) -> int:
    """An integer field (order or event id)."""
    value = fields.get(name, default)
    if value is ... or isinstance(value, bool) or not isinstance(value, int):
        raise LeanResultError(f"{where}: field {name!r}: {value!r} is not an integer")
    return value


def _enum(
    fields: Mapping[str, Any], name: str, names: Mapping[int, str], where: str, default: Any = ...
) -> str:
    """A LEAN enum given as its number (orders) or camelCase name (events), as snake_case."""
    value = fields.get(name, default)
    if isinstance(value, int) and not isinstance(value, bool) and value in names:
        return names[value]
    if isinstance(value, str):
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", value).lower()
        if snake in names.values():
            return snake
    allowed = list(names.values())
    raise LeanResultError(f"{where}: field {name!r}: {value!r} is not one of {allowed}")


def _symbol(value: Any, where: str) -> str:
    """The ticker of a serialized Symbol: its `value`, or the first word of a SID string."""
    ticker = value.get("value", value.get("Value")) if isinstance(value, dict) else None
    if isinstance(ticker, str) and ticker:  # "Value" in LEAN versions before camelCase JSON
        return ticker
    if isinstance(value, str) and value.strip():
        return value.split()[0]
    raise LeanResultError(f"{where}: field 'symbol': {value!r} is not a LEAN symbol")


def _time(value: Any, where: str, name: str) -> pd.Timestamp:
    """A UTC time from unix seconds (events) or an ISO string (orders)."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            stamp = pd.Timestamp(round(value * 1_000_000), unit="us", tz="UTC")
        elif isinstance(value, str):
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        else:
            raise ValueError("expected unix seconds or an ISO time")
    except (ValueError, OverflowError) as err:
        raise LeanResultError(f"{where}: field {name!r}: {value!r}: {err}") from err
    return stamp.as_unit("us")


# BracketSignals tags every order `<signal_id>:<leg>[:...]` (entry tags also carry the
# bracket prices); the long leg names are accepted too.
LEG_NAMES = {
    "entry": "entry",
    "stop": "stop_loss",
    "target": "take_profit",
    "exit": "exit",
    "stop_loss": "stop_loss",
    "take_profit": "take_profit",
}


def split_tag(tag: str) -> tuple[str | None, str | None]:
    """Signal id and bracket leg of an order tag (`<signal_id>[:<leg>[:...]]`)."""
    if not tag:
        return None, None
    signal_id, _, rest = tag.partition(":")
    leg = LEG_NAMES.get(rest.split(":", 1)[0]) if rest else "entry"
    if signal_id and leg is not None:
        return signal_id, leg
    return tag, "entry"


def _frame(rows: list[Any], columns: Mapping[str, str]) -> pd.DataFrame:
    """Rows as a frame with exactly `columns` and their dtypes (also when empty)."""
    return pd.DataFrame(rows, columns=list(columns)).astype(dict(columns))


def orders_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """Orders known only from their events (live): last status; type and tag unknown."""
    rows = []
    for order_id, group in events.groupby("order_id", sort=True):
        row = {
            name: group[name].ffill().iloc[-1] for name in ("quantity", "limit_price", "stop_price")
        }
        last = group.iloc[-1]
        row.update(order_id=order_id, symbol=last["symbol"], direction=last["direction"])
        row.update(status=last["status"], created_time=group["time"].iloc[0])
        rows.append(row)
    return _frame(rows, ORDER_COLUMNS)


def fills_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """The fill events (filled / partially filled with a quantity), in time order."""
    mask = events["status"].isin(FILL_STATUSES) & (events["fill_quantity"] != 0)
    return events.loc[mask, list(FILL_COLUMNS)].reset_index(drop=True)


def positions_from_fills(fills: pd.DataFrame) -> pd.DataFrame:
    """Per symbol, the net quantity and average entry price after each fill."""
    rows = []
    held: dict[str, tuple[float, float]] = {}
    for fill in fills.sort_values(["time", "order_id"], kind="mergesort").itertuples(index=False):
        quantity, average = held.get(fill.symbol, (0.0, math.nan))
        new_quantity = quantity + fill.fill_quantity
        if abs(new_quantity) < 1e-12:
            new_quantity, average = 0.0, math.nan
        elif quantity == 0 or quantity * new_quantity < 0:  # opened, or flipped through flat
            average = fill.fill_price
        elif abs(new_quantity) > abs(quantity):  # added to the position: weighted average
            average = (quantity * average + fill.fill_quantity * fill.fill_price) / new_quantity
        held[fill.symbol] = (new_quantity, average)
        values = (fill.symbol, fill.time, fill.order_id, fill.fill_quantity, fill.fill_price)
        rows.append((*values, new_quantity, average))
    return _frame(rows, POSITION_COLUMNS)


def parse_statistic(text: str) -> float | None:
    """A LEAN statistic string as a number: "12.3%" -> 0.123, "-$1,234.56" -> -1234.56."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None or not match["number"] or (match["sign"] and match["sign2"]):
        return None
    value = float(match["number"].replace(",", ""))
    if (match["sign"] or match["sign2"]) == "-":
        value = -value
    return value / 100.0 if match["percent"] else value


def parse_statistics(raw: Mapping[str, Any], where: str, source: str) -> pd.DataFrame:
    """A statistics object (name -> string) as rows of source, name, raw text and number."""
    if not isinstance(raw, dict):
        raise LeanResultError(f"{where}: expected an object of name -> value strings")
    rows = []
    for name, text in raw.items():
        if not isinstance(text, str):
            raise LeanResultError(f"{where}[{name!r}]: {text!r} is not a string")
        rows.append({"source": source, "name": name, "raw": text, "value": parse_statistic(text)})
    return _frame(rows, STATISTIC_COLUMNS)


def slippage(orders: pd.DataFrame, fills: pd.DataFrame, intended: pd.DataFrame) -> pd.DataFrame:
    """Entry fills vs intended price in bps, positive when worse (paid more / received less)."""
    missing = {"signal_id", "intended_price"} - set(intended.columns)
    if missing:
        raise ValueError(f"intended: missing columns {sorted(missing)}")
    doubled = intended["signal_id"][intended["signal_id"].duplicated()]
    if len(doubled):
        raise ValueError(f"intended: duplicate signal_id {doubled.iloc[0]!r}")
    filled = fills.assign(notional=fills["fill_price"] * fills["fill_quantity"].abs())
    totals = filled.groupby("order_id").agg(
        notional=("notional", "sum"), filled_quantity=("fill_quantity", "sum")
    )
    entries = orders.loc[orders["leg"] == "entry", ["order_id", "signal_id", "symbol", "direction"]]
    table = entries.merge(intended[["signal_id", "intended_price"]], on="signal_id")
    table = table.merge(totals.reset_index(), on="order_id")
    table["average_fill_price"] = table["notional"] / table["filled_quantity"].abs()
    sign = table["direction"].map({"buy": 1.0, "sell": -1.0}).astype("float64")
    relative = table["average_fill_price"] / table["intended_price"].astype("float64") - 1.0
    table["slippage_bps"] = sign * relative * 10_000.0
    columns = ["order_id", "signal_id", "symbol", "direction", "intended_price"]
    columns += ["average_fill_price", "filled_quantity", "slippage_bps"]
    return table[columns].sort_values("order_id", ignore_index=True)


def position_status(orders: pd.DataFrame, fills: pd.DataFrame) -> pd.DataFrame:
    """Per signal_id: open while its entry has filled and no closing leg has filled."""
    filled_ids = set(fills.loc[fills["fill_quantity"] != 0, "order_id"])
    tagged = orders.loc[orders["signal_id"].notna()]
    has_fill = tagged["order_id"].isin(filled_ids)
    entered = set(tagged.loc[has_fill & (tagged["leg"] == "entry"), "signal_id"])
    closed = set(tagged.loc[has_fill & tagged["leg"].isin(CLOSING_LEGS), "signal_id"])
    signal_ids = sorted(set(tagged["signal_id"]))
    status = [signal_id in entered and signal_id not in closed for signal_id in signal_ids]
    return pd.DataFrame({"signal_id": signal_ids, "position_status": status}).astype(
        {"signal_id": "str", "position_status": "bool"}
    )


def write_feedback(conn: duckdb.DuckDBPyConnection, feedback: LeanFeedback) -> None:
    """Replace lean.orders, lean.fills, lean.positions and lean.statistics in one transaction."""
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute("begin transaction")
    try:
        for name in TABLES:
            view = f"_lean_feedback_{name}"
            conn.register(view, getattr(feedback, name))
            conn.execute(f"create or replace table {SCHEMA}.{name} as select * from {view}")
            conn.unregister(view)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
