"""Bitemporal staging: corrections and restatements are versions, "as of T" picks the right one.

Raw rows are inserted as the loader writes them (first deliveries at the dataset's rule,
corrections at greatest(rule, received_at)); dbt then builds the staging models in its
own process at several cut-offs, as the replay harness would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from orchestration.assets.dbt import dbt_bars
from tests.support.dbt import run_dbt
from warehouse.datasets import DATASETS
from warehouse.engines.duckdb import connect
from warehouse.loading import ensure_meta, ensure_raw_table

pytestmark = pytest.mark.slow

MODELS = (
    "stg_raw__bars_1d stg_raw__bars_1d_versions stg_raw__fundamentals "
    "stg_raw__fundamentals_versions stg_raw__web_traffic stg_raw__web_traffic_versions"
)
# Before the bar correction arrives / after it and after the late correction of the
# original filing / now.
BEFORE_CORRECTION = "2024-01-05 11:59:59"
AFTER_RESTATEMENT = "2024-06-15 00:00:00"
CUTOFFS = (BEFORE_CORRECTION, AFTER_RESTATEMENT, None)

T = pd.Timestamp


def daily_bar(ts: str, close: float, available_at: str, file: str, received: str) -> tuple:
    """An IBM daily bar row (OHLC around `close`) with its knowledge time and lineage."""
    return ("IBM", T(ts), close - 1, close + 1, close - 2, close, 10, close, T(available_at),
            file, T(received))  # fmt: skip


def filing(filed: str, metric: str, value: float, available_at: str, file: str) -> tuple:
    """An AAPL fundamentals row for fiscal period 2023-12-31, received as `file` says."""
    received = {"f1": "2024-02-02 08:00", "f2": "2024-05-02 08:00"}.get(file, available_at)
    return ("AAPL", T("2023-12-31"), T(filed), metric, value, T(available_at), file, T(received))


def visits(count: int, available_at: str, file: str, received: str) -> tuple:
    """IBM's visits to ibm.com on 2024-01-03, as delivered by `file`."""
    return ("IBM", T("2024-01-03"), "ibm.com", count, T(available_at), file, T(received))


RAW_ROWS = {
    "bars_1d": [
        daily_bar("2024-01-01", 100, "2024-01-02", "a", "2024-01-03 01:00"),
        daily_bar("2024-01-02", 101, "2024-01-03", "a", "2024-01-03 01:00"),
        # the vendor corrects the 2nd's close (a new version from its receipt) and delivers
        # the 4th late (a first version: available at its rule time, as a backfill)
        daily_bar("2024-01-02", 111, "2024-01-05 12:00", "b", "2024-01-05 12:00"),
        daily_bar("2024-01-04", 105, "2024-01-05", "b", "2024-01-05 12:00"),
    ],
    "fundamentals": [
        filing("2024-02-01", "revenue", 100, "2024-02-01 22:00", "f1"),
        filing("2024-02-01", "eps", 2, "2024-02-01 22:00", "f1"),
        # a restatement: a new filing of the same period and metric
        filing("2024-05-01", "revenue", 90, "2024-05-01 22:00", "f2"),
        # a late correction of the original filing, superseded by the restatement already
        filing("2024-02-01", "revenue", 101, "2024-06-03 09:00", "f3"),
        # a correction of the restatement itself: the new current value
        filing("2024-05-01", "revenue", 92, "2024-07-01 10:00", "f4"),
    ],
    "web_traffic": [
        visits(1000, "2024-01-04 06:00", "w1", "2024-01-04 07:00"),
        visits(1200, "2024-01-10 09:00", "w2", "2024-01-10 09:00"),  # a correction
    ],
}


def insert_raw(conn, dataset: str, rows: list[tuple]) -> None:
    """Append rows as the loader does: the dataset's columns, available_at and lineage."""
    ensure_raw_table(conn, DATASETS[dataset])
    columns = list(DATASETS[dataset].all_columns())
    frame = pd.DataFrame(
        [(*r[:-3], r[-3], f"raw/test/{dataset}/{r[-2]}.csv", r[-1], "test") for r in rows],
        columns=[*columns, "available_at", "_source_file", "_received_at", "_vendor"],
    )
    conn.register("incoming", frame)
    conn.execute(f"insert into raw.{dataset} by name select * from incoming")
    conn.unregister("incoming")


def query(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    """Rows of `sql` from the warehouse file, read-only."""
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchdf()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The staging models built at each cut-off: {cut-off: {model: rows}}, plus the file."""
    work = tmp_path_factory.mktemp("bitemporal")
    warehouse = work / "warehouse.duckdb"
    with connect(warehouse) as conn:
        ensure_meta(conn)
        for name in DATASETS:
            ensure_raw_table(conn, DATASETS[name])
        for dataset, rows in RAW_ROWS.items():
            insert_raw(conn, dataset, rows)
    built: dict[str | None, dict[str, pd.DataFrame]] = {}
    for cutoff in CUTOFFS:
        results = run_dbt("build", warehouse, work, MODELS, cutoff)
        failed = {
            k: r["status"] for k, r in results.items() if r["status"] not in ("success", "pass")
        }
        assert not failed, failed
        built[cutoff] = {
            model: query(warehouse, f"select * from staging.{model}") for model in MODELS.split()
        }
        built[cutoff]["results"] = results
    return warehouse, work, built


def bar(rows: pd.DataFrame, ts: str) -> pd.DataFrame:
    return rows[(rows["symbol"] == "IBM") & (rows["ts"] == T(ts))]


def as_of(versions: pd.DataFrame, when: str) -> pd.DataFrame:
    """The versions valid at `when`: valid_from <= T < coalesce(valid_to, infinity)."""
    moment = T(when)
    open_at_moment = versions["valid_to"].isna() | (moment < versions["valid_to"])
    return versions[(versions["valid_from"] <= moment) & open_at_moment]


def records(frame: pd.DataFrame, key: list[str]) -> list[dict]:
    """Rows as dicts in key order (dtypes of empty frames differ; values must not)."""
    return frame.sort_values(key).to_dict("records")


def test_a_corrected_bar_is_as_of_its_old_value_until_the_correction_is_received(builds):
    _, _, built = builds
    assert bar(built[BEFORE_CORRECTION]["stg_raw__bars_1d"], "2024-01-02")["close"].tolist() == [
        101
    ]
    assert bar(built[AFTER_RESTATEMENT]["stg_raw__bars_1d"], "2024-01-02")["close"].tolist() == [
        111
    ]
    assert bar(built[None]["stg_raw__bars_1d"], "2024-01-02")["close"].tolist() == [111]
    # the day after, delivered late by the same file, counts from its own rule time
    assert bar(built[BEFORE_CORRECTION]["stg_raw__bars_1d"], "2024-01-04")["close"].tolist() == [
        105
    ]


def test_both_versions_of_a_corrected_bar_are_kept_as_a_chain(builds):
    warehouse, _, built = builds
    raw = query(warehouse, "select close from raw.bars_1d where ts = '2024-01-02' order by 1")
    assert raw["close"].tolist() == [101, 111]
    versions = bar(built[None]["stg_raw__bars_1d_versions"], "2024-01-02").sort_values("valid_from")
    assert versions[["close", "valid_from", "valid_to", "is_current", "version_number"]].to_dict(
        "records"
    ) == [
        {"close": 101, "valid_from": T("2024-01-03"), "valid_to": T("2024-01-05 12:00"),
         "is_current": False, "version_number": 1},
        {"close": 111, "valid_from": T("2024-01-05 12:00"), "valid_to": pd.NaT,
         "is_current": True, "version_number": 2},
    ]  # fmt: skip


def test_versions_built_before_a_correction_end_with_the_old_value_current(builds):
    _, _, built = builds
    versions = bar(built[BEFORE_CORRECTION]["stg_raw__bars_1d_versions"], "2024-01-02")
    assert versions[["close", "is_current"]].to_dict("records") == [
        {"close": 101, "is_current": True}
    ]
    assert versions["valid_to"].isna().all()


def test_a_restatement_wins_once_filed_and_a_late_correction_of_the_original_does_not(builds):
    _, _, built = builds
    revenue = "metric == 'revenue'"
    assert built[BEFORE_CORRECTION]["stg_raw__fundamentals"].empty
    at_june = built[AFTER_RESTATEMENT]["stg_raw__fundamentals"].query(revenue)
    assert at_june[["value", "filing_date"]].to_dict("records") == [
        {"value": 90, "filing_date": T("2024-05-01")}
    ]
    now = built[None]["stg_raw__fundamentals"].set_index("metric")
    assert now.loc["revenue", "value"] == 92
    assert now.loc["eps", "value"] == 2


def test_fundamental_versions_chain_filings_and_corrections_by_knowledge_time(builds):
    _, _, built = builds
    versions = built[None]["stg_raw__fundamentals_versions"].query("metric == 'revenue'")
    chain = versions.sort_values("valid_from")[["value", "filing_date", "valid_from", "valid_to"]]
    assert chain.to_dict("records") == [
        {"value": 100, "filing_date": T("2024-02-01"), "valid_from": T("2024-02-01 22:00"),
         "valid_to": T("2024-05-01 22:00")},
        {"value": 90, "filing_date": T("2024-05-01"), "valid_from": T("2024-05-01 22:00"),
         "valid_to": T("2024-07-01 10:00")},
        {"value": 92, "filing_date": T("2024-05-01"), "valid_from": T("2024-07-01 10:00"),
         "valid_to": pd.NaT},
    ]  # fmt: skip
    assert as_of(versions, "2024-05-01 21:59:59")["value"].tolist() == [100]
    assert as_of(versions, "2024-06-03 09:00:00")["value"].tolist() == [90]


def test_current_versions_are_the_latest_known_rows(builds):
    _, _, built = builds
    for cutoff in CUTOFFS:
        for dataset, key in (
            ("bars_1d", ["symbol", "ts"]),
            ("fundamentals", ["symbol", "period_end", "metric"]),
            ("web_traffic", ["symbol", "visit_date", "domain"]),
        ):
            latest = built[cutoff][f"stg_raw__{dataset}"]
            versions = built[cutoff][f"stg_raw__{dataset}_versions"]
            current = versions[versions["is_current"]][latest.columns]
            assert records(current, key) == records(latest, key), (cutoff, dataset)


@pytest.mark.parametrize("cutoff", [BEFORE_CORRECTION, AFTER_RESTATEMENT])
def test_as_of_on_the_full_version_history_equals_a_build_at_that_cutoff(builds, cutoff):
    _, _, built = builds
    for dataset, key in (
        ("bars_1d", ["symbol", "ts"]),
        ("fundamentals", ["symbol", "period_end", "metric"]),
        ("web_traffic", ["symbol", "visit_date", "domain"]),
    ):
        latest = built[cutoff][f"stg_raw__{dataset}"]
        replayed = as_of(built[None][f"stg_raw__{dataset}_versions"], cutoff)[latest.columns]
        assert records(replayed, key) == records(latest, key), dataset


def test_web_traffic_correction_is_a_new_version(builds):
    _, _, built = builds
    assert built[BEFORE_CORRECTION]["stg_raw__web_traffic"]["visits"].tolist() == [1000]
    assert built[None]["stg_raw__web_traffic"]["visits"].tolist() == [1200]
    assert sorted(built[None]["stg_raw__web_traffic_versions"]["visits"]) == [1000, 1200]


def test_chain_tests_ran_and_passed_on_every_versioned_model(builds):
    _, _, built = builds
    chains = {
        uid: r["status"]
        for uid, r in built[None]["results"].items()
        if uid.startswith("test.signalyard.valid_time_chain_")
    }
    assert len(chains) == 3 and set(chains.values()) == {"pass"}, chains


def test_the_chain_test_fails_on_an_overlap_a_gap_and_a_duplicate_version(builds, tmp_path):
    warehouse, _, _ = builds
    broken = tmp_path / "broken.duckdb"
    shutil.copy(warehouse, broken)
    with connect(broken) as conn:
        conn.execute("""
            create table staging.tampered as
            select * replace (
                case
                    -- the first version of the corrected bar overlaps its successor by an hour
                    when ts = '2024-01-02' and version_number = 1
                        then valid_to + interval 1 hour
                    else valid_to
                end as valid_to
            )
            from staging.stg_raw__bars_1d_versions
        """)
        # and a third version that starts a day after the second ended: a gap
        conn.execute("""
            insert into staging.tampered
            select * replace (
                valid_from + interval 1 day as valid_from,
                version_number + 1 as version_number
            )
            from staging.tampered where ts = '2024-01-02' and version_number = 2
        """)
        conn.execute("""
            update staging.tampered set valid_to = valid_from + interval 1 hour, is_current = false
            where ts = '2024-01-02' and version_number = 2
        """)
        # and the 1st's only version twice: two versions valid from the same instant
        conn.execute(
            "insert into staging.tampered select * from staging.tampered where ts = '2024-01-01'"
        )
        conn.execute("drop view staging.stg_raw__bars_1d_versions")
        conn.execute("alter table staging.tampered rename to stg_raw__bars_1d_versions")
    results = run_dbt(
        "test", broken, tmp_path, "stg_raw__bars_1d_versions,test_name:valid_time_chain"
    )
    assert [(r["status"], r["failures"]) for r in results.values()] == [("fail", 3)]


def test_the_new_models_build_in_the_first_dbt_stage_beside_the_bars():
    keys = {key.to_user_string() for key in dbt_bars.keys}
    versioned = [f"staging/{model}" for model in MODELS.split()]
    derived = ["intermediate/int_corporate_actions_derived", "intermediate/int_daily_bars_adjusted"]
    assert set(versioned + derived) <= keys
