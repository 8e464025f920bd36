"""Corporate actions from close vs adj_close, and adjusted prices that never leak the future.

Raw daily bars are inserted as the loader writes them, with a vendor's adj_close that
already embeds every later adjustment; dbt builds the models in its own process at
cut-offs before and after each action became known.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from signals.lean_prices import factor_file_text
from tests.support.dbt import run_dbt as run_dbt_process
from warehouse.datasets import DATASETS
from warehouse.engines.duckdb import connect
from warehouse.loading import ensure_meta, ensure_raw_table
from warehouse.sample_data import daily_stocks
from warehouse.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow

MODELS = "stg_raw__bars_1d int_corporate_actions_derived int_daily_bars_adjusted"
BEFORE_SPLIT = "2024-01-04 23:59:59"  # the split's ex-date bar is available at 01-05 00:00
AFTER_SPLIT = "2024-01-05 00:00:00"
CUTOFFS = (BEFORE_SPLIT, AFTER_SPLIT, None)
# Where the vendor's adj_close may be read: staging passes it through, the derivation
# reads it as consecutive ratios. Anything else would feed later knowledge downstream.
ADJ_CLOSE_READERS = {
    "stg_raw__bars_1d.sql",
    "stg_raw__bars_1d_versions.sql",
    "int_corporate_actions_derived.sql",
}

T = pd.Timestamp
# XYZ: a 2:1 split on 2024-01-04, a dividend of 0.52 (1% of 52) on 2024-01-08; adj_close
# as a vendor writes it afterwards, so the oldest bars already embed both.
XYZ = [
    ("2024-01-02", 100.0, 49.5),
    ("2024-01-03", 102.0, 50.49),
    ("2024-01-04", 50.0, 49.5),
    ("2024-01-05", 52.0, 51.48),
    ("2024-01-08", 51.0, 51.0),
    ("2024-01-09", 53.0, 53.0),
]


def bar_row(symbol: str, ts: str, close: float, adj_close: float, available_at, file: str):
    """A raw bars_1d row as the loader writes it (received when it became available)."""
    at = T(available_at)
    return (symbol, T(ts), close, close * 1.02, close * 0.97, close, 1000.0, adj_close, at,
            f"raw/test/bars_1d/{file}.csv", at, "test")  # fmt: skip


def raw_rows() -> list[tuple]:
    """XYZ delivered bar by bar; ABC's dividend revealed only by a later correction."""
    rows = [bar_row("XYZ", ts, c, a, T(ts) + pd.Timedelta(days=1), ts) for ts, c, a in XYZ]
    # ABC: the vendor first delivers adj_close = close (the dividend not yet processed) and
    # on 2024-01-12 10:00 re-delivers the two bars before the ex-date adjusted by 0.98
    for ts, close in (("2024-01-02", 20.0), ("2024-01-03", 21.0), ("2024-01-04", 20.0)):
        rows.append(bar_row("ABC", ts, close, close, T(ts) + pd.Timedelta(days=1), ts))
    for ts, close in (("2024-01-02", 20.0), ("2024-01-03", 21.0)):
        rows.append(bar_row("ABC", ts, close, close * 0.98, "2024-01-12 10:00", "fix"))
    return rows


def load_bars(warehouse: Path, rows: list[tuple] | pd.DataFrame) -> None:
    """Create every raw table and append daily bars as the loader does."""
    columns = [*DATASETS["bars_1d"].all_columns(), "available_at"]
    columns += ["_source_file", "_received_at", "_vendor"]
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=columns)
    with connect(warehouse) as conn:
        ensure_meta(conn)
        for dataset in DATASETS.values():
            ensure_raw_table(conn, dataset)
        conn.register("incoming", frame[columns])
        conn.execute("insert into raw.bars_1d by name select * from incoming")
        conn.unregister("incoming")


def run_dbt(command: str, warehouse: Path, work: Path, select: str, as_of: str | None = None):
    """Run dbt (tests.support.dbt) and require every node to succeed; {unique_id: result}."""
    results = run_dbt_process(command, warehouse, work, select, as_of)
    failed = {k: r["status"] for k, r in results.items() if r["status"] not in ("success", "pass")}
    assert not failed, failed
    return results


def read(warehouse: Path, table: str) -> pd.DataFrame:
    """A whole table, ordered by symbol and time."""
    order = "symbol, ex_date" if "actions" in table else "symbol, ts"
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(f"select * from intermediate.{table} order by {order}").fetchdf()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """{cut-off: (actions, adjusted bars)} on the synthetic bars, plus dbt's results."""
    work = tmp_path_factory.mktemp("corporate-actions")
    warehouse = work / "warehouse.duckdb"
    load_bars(warehouse, raw_rows())
    built = {}
    for cutoff in CUTOFFS:
        # a full build (unit tests and data tests included) once, plain runs otherwise
        results = run_dbt("build" if cutoff is None else "run", warehouse, work, MODELS, cutoff)
        actions = read(warehouse, "int_corporate_actions_derived")
        built[cutoff] = (actions, read(warehouse, "int_daily_bars_adjusted"), results)
    return built


def test_a_split_and_a_dividend_are_derived_with_their_factors(builds):
    actions, _, _ = builds[None]
    xyz = actions[actions["symbol"] == "XYZ"]
    assert xyz[["ex_date", "action_kind"]].astype(str).values.tolist() == [
        ["2024-01-04", "split"],
        ["2024-01-08", "dividend"],
    ]
    assert xyz["split_ratio"].iloc[0] == 2.0 and pd.isna(xyz["split_ratio"].iloc[1])
    assert pd.isna(xyz["dividend_amount"].iloc[0])
    assert xyz["factor"].tolist() == pytest.approx([0.5, 0.99], abs=1e-9)
    assert xyz["dividend_amount"].iloc[1] == pytest.approx(0.52, abs=1e-9)
    assert xyz["known_at"].tolist() == [T("2024-01-05"), T("2024-01-09")]


def test_before_the_split_is_known_adjusted_prices_equal_raw(builds):
    actions, adjusted, _ = builds[BEFORE_SPLIT]
    assert actions[actions["symbol"] == "XYZ"].empty
    for raw, adj in (
        ("open", "adjusted_open"),
        ("close", "adjusted_close"),
        ("volume", "adjusted_volume"),
    ):
        assert adjusted[adj].tolist() == adjusted[raw].tolist()
    assert (adjusted["adjustment_factor"] == 1).all()


def test_once_the_split_is_known_earlier_bars_are_halved_and_the_dividend_still_unknown(builds):
    actions, adjusted, _ = builds[AFTER_SPLIT]
    assert actions[actions["symbol"] == "XYZ"]["action_kind"].tolist() == ["split"]
    xyz = adjusted[adjusted["symbol"] == "XYZ"]
    xyz = xyz.set_index(xyz["ts"].dt.strftime("%m-%d"))
    assert xyz.loc[["01-02", "01-03"], "adjusted_close"].tolist() == pytest.approx([50.0, 51.0])
    assert xyz.loc[["01-02", "01-03"], "adjusted_volume"].tolist() == pytest.approx([2000, 2000])
    assert xyz.loc["01-04", "adjusted_close"] == 50.0
    assert xyz.loc[["01-02", "01-03"], "adjusted_available_at"].tolist() == [T("2024-01-05")] * 2
    assert xyz.loc["01-04", "adjusted_available_at"] == T("2024-01-05")


def test_the_full_build_adjusts_for_every_known_action_and_keeps_raw_prices(builds):
    _, adjusted, _ = builds[None]
    xyz = adjusted[adjusted["symbol"] == "XYZ"]
    assert xyz["close"].tolist() == [close for _, close, _ in XYZ]
    # the vendor's own adj_close is reproduced from the derived factors alone
    assert xyz["adjusted_close"].tolist() == pytest.approx([adj for *_, adj in XYZ], rel=1e-12)
    # dividends leave volume alone; the split doubles earlier volume
    assert xyz["adjusted_volume"].tolist() == pytest.approx([2000, 2000, 1000, 1000, 1000, 1000])
    assert "adj_close" not in adjusted.columns


def test_an_action_revealed_by_a_correction_is_known_when_the_correction_is(builds):
    actions, adjusted, _ = builds[None]
    abc = actions[actions["symbol"] == "ABC"]
    assert abc[["ex_date", "action_kind"]].astype(str).values.tolist() == [
        ["2024-01-04", "dividend"]
    ]
    assert abc["factor"].iloc[0] == pytest.approx(0.98)
    assert abc["dividend_amount"].iloc[0] == pytest.approx(21.0 * 0.02)
    assert abc["known_at"].iloc[0] == T("2024-01-12 10:00")
    first = adjusted[(adjusted["symbol"] == "ABC") & (adjusted["ts"] == T("2024-01-02"))]
    assert first["adjusted_available_at"].tolist() == [T("2024-01-12 10:00")]
    assert builds[AFTER_SPLIT][0].query("symbol == 'ABC'").empty


def test_the_factor_unit_tests_ran_and_passed(builds):
    _, _, results = builds[None]
    unit_tests = {uid: r["status"] for uid, r in results.items() if uid.startswith("unit_test.")}
    assert len(unit_tests) == 2 and set(unit_tests.values()) == {"pass"}, unit_tests


@pytest.fixture(scope="module")
def sample_stocks(tmp_path_factory):
    """The bundled sample stocks through dbt: (bars with adj_close, adjusted bars, actions)."""
    work = tmp_path_factory.mktemp("sample-stocks")
    warehouse = work / "warehouse.duckdb"
    stocks = daily_stocks().assign(ts=lambda f: pd.to_datetime(f["ts"]))
    stocks = stocks.assign(
        available_at=stocks["ts"] + pd.Timedelta(days=1),
        _source_file="raw/quandl_wiki/bars_1d/sample.csv",
        _received_at=T("2013-03-02"),
        _vendor="quandl_wiki",
    )
    load_bars(warehouse, stocks)
    run_dbt("run", warehouse, work, MODELS)
    return (
        stocks,
        read(warehouse, "int_daily_bars_adjusted"),
        read(warehouse, "int_corporate_actions_derived"),
    )


def lean_factors(days: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """LEAN's price factor for every day, and the days its factor file marks as changes."""
    rows = [line.split(",") for line in factor_file_text(days).splitlines()]
    dates = [row[0] for row in rows]
    factors = [float(row[1]) for row in rows]
    changes = [dates[i] for i in range(len(rows) - 1) if factors[i] != factors[i + 1]]
    # LEAN uses the factors of the first row dated on or after a day
    first_on_or_after = pd.Series(range(len(dates)), index=dates).reindex(
        days.index, method="bfill"
    )
    return pd.Series([factors[i] for i in first_on_or_after], index=days.index), changes


@pytest.mark.parametrize("symbol", ["AAPL", "GOOG", "IBM", "MSFT"])
def test_factors_agree_with_the_lean_factor_files_on_the_sample_stocks(sample_stocks, symbol):
    stocks, adjusted, actions = sample_stocks
    days = stocks[stocks["symbol"] == symbol].sort_values("ts")
    days = days.set_index(days["ts"].dt.strftime("%Y%m%d"))[["close", "adj_close"]]
    expected, changes = lean_factors(days)
    ours = adjusted[adjusted["symbol"] == symbol]
    ours = ours.set_index(ours["ts"].dt.strftime("%Y%m%d"))
    # LEAN rounds its factors half-even to 7 decimals
    assert (ours["adjustment_factor"] - expected).abs().max() <= 6e-8
    previous_day = ours.index.to_series().shift(1)
    ex_dates = actions[actions["symbol"] == symbol]["ex_date"].dt.strftime("%Y%m%d")
    assert previous_day.loc[ex_dates].tolist() == changes
    assert bool(changes) == (symbol != "GOOG")  # GOOG paid nothing and never split here


def test_sample_stocks_splits_are_recognised_as_two_for_one(sample_stocks):
    _, _, actions = sample_stocks
    splits = actions[actions["action_kind"] == "split"]
    assert splits[["symbol", "ex_date"]].astype(str).values.tolist() == [
        ["AAPL", "2000-06-21"],
        ["AAPL", "2005-02-28"],
        ["MSFT", "2003-02-18"],
    ]
    assert splits["split_ratio"].tolist() == [2.0, 2.0, 2.0]
    # MSFT's special dividend (ex 2004-11-15) moved the price factor by ~10%: still cash
    special = actions[(actions["symbol"] == "MSFT") & (actions["ex_date"] == T("2004-11-15"))]
    assert special["action_kind"].tolist() == ["dividend"]
    assert special["dividend_amount"].iloc[0] == pytest.approx(3.03, abs=0.01)


def sql_without_comments(path: Path) -> str:
    """A model's SQL without Jinja comments and `--` comments."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)
    return re.sub(r"--[^\n]*", "", text)


def test_only_the_derivation_reads_the_vendors_adj_close():
    readers = {
        path.name
        for path in (DBT_PROJECT_DIR / "models").rglob("*.sql")
        if re.search(r"\badj_close\b", sql_without_comments(path))
    }
    assert readers <= ADJ_CLOSE_READERS, readers - ADJ_CLOSE_READERS
