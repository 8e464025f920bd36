"""Built-in datasets: schema, key and `available_at` rule, declared in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from warehouse.columns import AVAILABLE_AT, SYMBOL, TS

# Column types understood by the loader; each maps to a DuckDB type.
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "double": "DOUBLE",
    "bigint": "BIGINT",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


def _interval(delta: timedelta) -> str:
    """A SQL interval literal for a timedelta (microsecond precision)."""
    return f"interval '{int(delta / timedelta(microseconds=1))} microseconds'"


@dataclass(frozen=True)
class BarClose:
    """A bar opening at `ts` is known when it closes, plus the feed's latency."""

    bar_length: timedelta
    latency: timedelta = timedelta(0)
    time_column: str = TS

    def available_at_sql(self, column: str) -> str:
        """SQL for `ts + bar_length + latency`, given the SQL of the (typed) time column."""
        return f"({column}) + {_interval(self.bar_length + self.latency)}"

    def describe(self) -> str:
        """One line for docs and `status`."""
        return f"{self.time_column} + {self.bar_length} + latency {self.latency}"


@dataclass(frozen=True)
class Published:
    """Published data is known at its publication date plus a time of day (UTC)."""

    publication_column: str
    time_of_day: timedelta = timedelta(hours=22)

    @property
    def time_column(self) -> str:
        """The column that dates a row's knowledge: its publication date."""
        return self.publication_column

    def available_at_sql(self, column: str) -> str:
        """SQL for the publication date at `time_of_day` UTC, never the period end."""
        return f"cast(cast({column} as date) as timestamp) + {_interval(self.time_of_day)}"

    def describe(self) -> str:
        """One line for docs and `status`."""
        return f"{self.publication_column} + {self.time_of_day} (UTC)"


@dataclass(frozen=True)
class Dataset:
    """A dataset's contract: required columns with types, optional ones, key, rule."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    availability: BarClose | Published
    optional_columns: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def table(self) -> str:
        """The raw warehouse table this dataset loads into."""
        return f"raw.{self.name}"

    def all_columns(self) -> dict[str, str]:
        """Required then optional columns, with their types."""
        return {**self.columns, **self.optional_columns}


_BAR_COLUMNS = {
    SYMBOL: "text",
    TS: "timestamp",
    "open": "double",
    "high": "double",
    "low": "double",
    "close": "double",
    "volume": "double",
}

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="bars_1m",
            columns=_BAR_COLUMNS,
            key=(SYMBOL, TS),
            availability=BarClose(timedelta(minutes=1), latency=timedelta(seconds=2)),
            description="one-minute OHLCV bars; ts is the bar's open (UTC)",
        ),
        Dataset(
            name="bars_1d",
            columns=_BAR_COLUMNS,
            key=(SYMBOL, TS),
            availability=BarClose(timedelta(days=1)),
            optional_columns={"adj_close": "double"},
            description="daily OHLCV bars; ts is the session date at 00:00 UTC",
        ),
        Dataset(
            name="short_interest",
            columns={
                SYMBOL: "text",
                "settlement_date": "date",
                "publication_date": "date",
                "short_interest": "double",
                "avg_daily_volume": "double",
            },
            key=(SYMBOL, "settlement_date", "publication_date"),
            availability=Published("publication_date"),
            description="shares sold short at settlement, published days later",
        ),
        Dataset(
            name="web_traffic",
            columns={SYMBOL: "text", "date": "date", "domain": "text", "visits": "double"},
            key=(SYMBOL, "date", "domain"),
            availability=Published("date", time_of_day=timedelta(days=1, hours=6)),
            description="daily visits per domain, delivered the next morning",
        ),
        Dataset(
            name="fundamentals",
            columns={
                SYMBOL: "text",
                "period_end": "date",
                "filing_date": "date",
                "metric": "text",
                "value": "double",
            },
            key=(SYMBOL, "period_end", "filing_date", "metric"),
            availability=Published("filing_date"),
            description="reported metrics per fiscal period; restatements are new filings",
        ),
    )
}

RAW_TABLE_EXTRA_COLUMNS = {AVAILABLE_AT: "timestamp"}


def get_dataset(name: str) -> Dataset:
    """The dataset called `name`, or a ValueError listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None
