"""Column-name constants shared by every layer (one place, as zipline does)."""

SYMBOL = "symbol"
TIMEFRAME = "timeframe"
TS = "ts"
AVAILABLE_AT = "available_at"
SOURCE_FILE = "_source_file"
RECEIVED_AT = "_received_at"
VENDOR = "_vendor"

OHLCV = ("open", "high", "low", "close", "volume")

# Signal-table contract columns (DESIGN.md, "Signal table contracts").
SIGNAL_TIMESTAMP = "signal_timestamp"
TIMESTAMP = "timestamp"
SIGNAL = "signal"
STRATEGY_ID = "strategy_id"

SIGNAL_WEIGHTS_COLUMNS = (SYMBOL, SIGNAL_TIMESTAMP, TIMESTAMP, SIGNAL, STRATEGY_ID)
SIGNAL_ORDERS_COLUMNS = (
    SYMBOL,
    SIGNAL_TIMESTAMP,
    TIMESTAMP,
    STRATEGY_ID,
    "direction",
    "entry_type",
    "entry_price",
    "stop_loss",
    "take_profit",
    "signal_id",
    "position_status",
)

# Warehouse schemas. dbt writes `staging`, `intermediate`, `marts`, `signals`;
# Python writes `raw`, `features`, `backtests` and `meta`.
RAW_SCHEMA = "raw"
FEATURES_SCHEMA = "features"
BACKTESTS_SCHEMA = "backtests"
META_SCHEMA = "meta"
