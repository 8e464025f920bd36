"""Declared portfolios: knowledge-day returns, target rows, specs, and the replay property."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

import signals.portfolio_pipeline as pp
from signals.pipeline import run_backtests
from signals.portfolio_pipeline import (
    PortfolioSpec,
    build_declared_portfolio,
    candidate_daily_returns,
    last_complete_day,
    load_portfolios,
    position_events,
    target_weights,
    write_portfolios,
)
from signals.selection import PerformanceFilter
from signals.strategy import load_library
from signals.walk_forward import DEFAULT_LATENCY
from tests.signals.test_pipeline import TABLE, features_for
from warehouse.settings import DBT_PROJECT_DIR

UTC = "UTC"
FAR_FUTURE = pd.Timestamp("2030-01-01", tz=UTC)
SPEC = PortfolioSpec(
    id="pf_test",
    method="greedy",
    options={"max_correlation": 0.9},
    train="7D",
    step="3D",
    survivors="returns_only",
    thresholds={"min_sharpe": None, "min_total_return": None, "min_max_drawdown": None},
    min_coverage=0.5,
)


def _features(n: int = 24 * 30) -> pd.DataFrame:
    """Four symbols of hourly bars over 30 days, known 2 s after each bar closes."""
    frames = [features_for(s, seed=i + 1, n=n) for i, s in enumerate(("AAA", "BBB", "CCC", "DDD"))]
    frame = pd.concat(frames, ignore_index=True)
    frame["available_at"] += pd.Timedelta(seconds=2)
    return frame


def _strategies():
    long = next(s for s in load_library() if s.id == "macd_cci").with_overrides(
        timeframes=("1h",), take_profit=None
    )
    short = long.with_overrides(id="macd_cci_short", direction="short")
    return [long, short]


def _warehouse(features: pd.DataFrame, cutoff: pd.Timestamp | None = None):
    """A warehouse built from the bars known at `cutoff` (all of them when None)."""
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    conn.execute("create schema intermediate")
    if cutoff is not None:
        features = features[features["available_at"] <= cutoff.tz_localize(None)]
    conn.register("_features", features)
    conn.execute(f"create table {TABLE} as select * from _features")
    conn.unregister("_features")
    run_backtests(conn, _strategies(), PerformanceFilter())
    return conn


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return _features()


@pytest.fixture(scope="module")
def batch(bars):
    conn = _warehouse(bars)
    yield build_declared_portfolio(conn, SPEC, FAR_FUTURE)
    conn.close()


def _published(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    rows = frame[pd.to_datetime(frame["signal_timestamp"], utc=True) <= cutoff]
    rows = rows.assign(signal=rows["signal"].round(10))
    return rows.sort_values(list(rows.columns)).reset_index(drop=True)


def _cutoffs(run) -> list[pd.Timestamp]:
    """Every allocation moment, a second before it, and target moments spread over time."""
    allocations = pd.to_datetime(run.allocations["signal_timestamp"], utc=True).unique()
    targets = pd.to_datetime(run.targets["signal_timestamp"], utc=True).sort_values().unique()
    picks = targets[np.linspace(0, len(targets) - 1, 6).astype(int)]
    moments = {*allocations, *(t - pd.Timedelta(seconds=1) for t in allocations), *picks}
    return sorted(pd.Timestamp(m) for m in moments)


def test_the_batch_run_allocates_and_publishes_targets(batch):
    assert batch.result is not None and len(batch.result.windows) >= 5
    assert (batch.result.windows["members"] > 0).sum() >= 2
    assert len(batch.targets) > 10
    assert set(batch.targets["strategy_id"]) == {"pf_test"}
    assert batch.targets["signal"].between(-1, 1).all()
    # both directions are allocated: short candidates hold negative targets
    assert set(batch.allocations["strategy_id"]) == {"macd_cci_1h", "macd_cci_short_1h"}
    assert (batch.targets["signal"] < 0).any() and (batch.targets["signal"] > 0).any()


def test_replay_at_every_decision_gives_the_batch_rows(bars, batch):
    """Rebuilt from the bars known at T, the rows published by T are the batch's exactly."""
    cutoffs = _cutoffs(batch)
    assert len(cutoffs) >= 12
    for cutoff in cutoffs:
        conn = _warehouse(bars, cutoff)
        replay = build_declared_portfolio(conn, SPEC, cutoff)
        conn.close()
        for name in ("targets", "allocations"):
            expected = _published(getattr(batch, name), cutoff)
            got = _published(getattr(replay, name), cutoff)
            pd.testing.assert_frame_equal(got, expected, obj=f"{name} as of {cutoff}")


def test_the_replay_check_catches_weights_published_before_their_bars_were_known(bars, monkeypatch):
    """Publishing at D + latency, forgetting the grace the decision waited for, must fail."""
    original = pp.walk_forward

    def without_grace(*args, **kwargs):
        return original(*args, **{**kwargs, "latency": pd.Timedelta(SPEC.latency)})

    monkeypatch.setattr(pp, "walk_forward", without_grace)
    leaky = build_declared_portfolio(_warehouse(bars), SPEC, FAR_FUTURE)
    mismatches = 0
    for cutoff in _cutoffs(leaky):
        conn = _warehouse(bars, cutoff)
        replay = build_declared_portfolio(conn, SPEC, cutoff)
        conn.close()
        expected, got = _published(leaky.targets, cutoff), _published(replay.targets, cutoff)
        mismatches += not expected.equals(got)
    assert mismatches > 0


def test_knowledge_days_split_at_midnight_plus_grace():
    conn = duckdb.connect()
    conn.execute("create schema intermediate; create schema backtests")
    conn.execute(
        f"create table {TABLE} as select 'X' as symbol, '1h' as timeframe, "
        "timestamp '2024-01-01 00:00:00' as available_at"
    )
    conn.execute(
        "create table backtests.strategy_instances as select 's_1h' as strategy_id, "
        "'1h' as timeframe, 'long' as direction"
    )
    conn.execute(
        "create table backtests.bar_returns as select *, available_at - interval 1 hour as ts "
        "from (values "
        "('s_1h', 'X', timestamp '2024-01-02 00:01:00', 0.10),"  # exactly D + grace: day 1
        "('s_1h', 'X', timestamp '2024-01-02 00:00:30', 0.10),"  # compounds with the first
        "('s_1h', 'X', timestamp '2024-01-02 00:01:00.000001', -0.5)"  # after: day 2
        ") t(strategy_id, symbol, available_at, bar_return)"
    )
    frame = candidate_daily_returns(conn, "2024-01-05 00:01:00", grace="1min")
    column = frame["s_1h|X"]
    assert column.index[0] == pd.Timestamp("2023-12-31", tz=UTC)  # first bar, known at 00:00
    assert column[pd.Timestamp("2024-01-01", tz=UTC)] == pytest.approx(1.1 * 1.1 - 1)
    assert column[pd.Timestamp("2024-01-02", tz=UTC)] == pytest.approx(-0.5)
    assert column[pd.Timestamp("2024-01-03", tz=UTC)] == 0.0  # nothing known: flat
    # the last row is the last day whose bars were all known by the as-of
    assert frame.index[-1] == last_complete_day("2024-01-05 00:01:00", "1min")
    assert frame.index[-1] == pd.Timestamp("2024-01-04", tz=UTC)
    assert candidate_daily_returns(conn, "2024-01-05 00:00:59", "1min").index[-1] == pd.Timestamp(
        "2024-01-03", tz=UTC
    )


def test_daily_returns_compound_the_bar_returns(batch, bars):
    conn = _warehouse(bars)
    rows = conn.execute(
        "select strategy_id || '|' || symbol as c, available_at, bar_return "
        "from backtests.bar_returns"
    ).fetchdf()
    conn.close()
    day = (
        (pd.DatetimeIndex(rows["available_at"]) - pd.Timedelta("1min") - pd.Timedelta("1us"))
        .floor("D")
        .tz_localize(UTC)
    )
    expected = (1 + rows["bar_return"]).groupby([rows["c"], day]).prod() - 1
    frame = batch.returns
    for (candidate, when), value in expected.items():
        assert frame.at[when, candidate] == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert frame.stack().abs().sum() == pytest.approx(expected.abs().sum(), rel=1e-12)


def _allocation(candidate: str, when: str, weight: float, bar: str = "2024-01-01") -> dict:
    strategy, symbol = candidate.split("|")
    return {
        "candidate_id": candidate,
        "signal_timestamp": pd.Timestamp(when, tz=UTC),
        "timestamp": pd.Timestamp(bar, tz=UTC),
        "signal": weight,
        "strategy_id": strategy,
        "symbol": symbol,
    }


def _event(candidate: str, when: str, bar: str, position: float) -> dict:
    return {
        "candidate": candidate,
        "symbol": candidate.split("|")[1],
        "signal_timestamp": pd.Timestamp(when, tz=UTC),
        "timestamp": pd.Timestamp(bar, tz=UTC),
        "position": position,
    }


def test_targets_sum_allocation_times_position_per_symbol():
    allocations = pd.DataFrame(
        [
            _allocation("long|X", "2024-01-02 00:01", 0.6),
            _allocation("short|X", "2024-01-02 00:01", 0.4),
            _allocation("long|Y", "2024-01-02 00:01", 0.0),  # never allocated for real
            _allocation("long|X", "2024-01-05 00:01", 0.0, bar="2024-01-04"),
        ]
    )
    events = pd.DataFrame(
        [
            _event("long|X", "2024-01-01 10:00", "2024-01-01 09:00", 1.0),  # open before
            _event("short|X", "2024-01-03 10:00", "2024-01-03 09:00", -1.0),
            _event("long|X", "2024-01-03 12:00", "2024-01-03 11:00", 0.0),
            _event("short|X", "2024-01-04 10:00", "2024-01-04 09:00", 0.0),
            _event("short|X", "2024-01-04 10:00", "2024-01-04 09:00", -1.0),  # exit + re-entry
            _event("long|Y", "2024-01-03 10:00", "2024-01-03 09:00", 1.0),
            _event("other|X", "2024-01-03 10:00", "2024-01-03 09:00", 1.0),  # not a member
        ]
    )
    rows = target_weights(allocations, events, "pf")
    got = [(r.symbol, str(r.signal_timestamp), round(r.signal, 12)) for r in rows.itertuples()]
    assert got == [
        ("X", "2024-01-02 00:01:00+00:00", 0.6),  # allocated while the long trade is open
        ("X", "2024-01-03 10:00:00+00:00", 0.2),  # the short enters: 0.6 - 0.4
        ("X", "2024-01-03 12:00:00+00:00", -0.4),  # the long exits
    ]  # the exit + re-entry and the long's drop to 0 leave X's target where it was
    assert set(rows["strategy_id"]) == {"pf"}
    assert list(rows.columns) == [
        "symbol",
        "signal_timestamp",
        "timestamp",
        "signal",
        "strategy_id",
    ]
    assert rows["timestamp"].iloc[1] == pd.Timestamp("2024-01-03 09:00", tz=UTC)


def test_position_events_are_published_a_latency_after_the_signal_bar(bars):
    conn = _warehouse(bars)
    events = position_events(conn, "1s", FAR_FUTURE)
    trades = conn.execute(
        "select strategy_id || '|' || symbol as c, entry_signal_available_at "
        "from backtests.trades order by 1, 2"
    ).fetchdf()
    conn.close()
    entries = events[events["position"] != 0].sort_values(["candidate", "signal_timestamp"])
    assert len(entries) == len(trades)
    expected = pd.to_datetime(trades["entry_signal_available_at"]).dt.tz_localize(UTC)
    assert (
        entries["signal_timestamp"].to_numpy() == (expected + pd.Timedelta("1s")).to_numpy()
    ).all()
    assert set(entries["position"]) <= {1.0, -1.0} and (entries["position"] == -1.0).any()


def test_written_tables_hold_the_rows_and_the_declared_columns(batch, bars):
    conn = _warehouse(bars)
    counts = write_portfolios(conn, [batch])
    assert counts["portfolio_targets"] == len(batch.targets)
    assert counts["portfolio_weights"] == len(batch.allocations)
    targets = conn.execute("select * from backtests.portfolio_targets").fetchdf()
    assert list(targets.columns) == [
        "symbol",
        "signal_timestamp",
        "timestamp",
        "signal",
        "strategy_id",
    ]
    assert counts["portfolio_windows"] == len(batch.diagnostics()[0])
    write_portfolios(conn, [])  # nothing declared: empty tables, still there
    assert conn.execute("select count(*) from backtests.portfolio_targets").fetchone() == (0,)
    conn.close()


def test_diagnostics_stop_at_the_last_bar_while_decisions_run_on_to_the_as_of(batch, bars):
    windows, daily, summary = batch.diagnostics()
    last_bar = (bars["available_at"].max() - pd.Timedelta("1min")).floor("D").tz_localize(UTC)
    assert daily.index[-1] == last_bar
    assert batch.result.returns.index[-1] > pd.Timestamp("2029-12-01", tz=UTC)
    assert (
        windows["train_start"].max()
        <= last_bar
        < windows["train_start"].max() + pd.Timedelta(SPEC.step)
    )
    assert summary.at["out_of_sample", "days"] == daily["out_of_sample"].notna().sum()
    # after the data, the next decision finds no survivor: the targets go to cash
    last = batch.targets.sort_values("signal_timestamp").groupby("symbol").tail(1)
    assert (last["signal"] == 0.0).all()


@pytest.mark.parametrize("cutoff", ["2024-01-01 06:00", "2024-01-02 00:00:30", "2024-01-05"])
def test_no_decision_before_one_train_window_is_covered(bars, cutoff):
    cutoff = pd.Timestamp(cutoff, tz=UTC)
    conn = _warehouse(bars, cutoff)
    run = build_declared_portfolio(conn, SPEC, cutoff)
    conn.close()
    assert run.result is None and run.targets.empty and run.allocations.empty


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"id": "x", "train": "36h"}, "train '36h' must be a positive whole number of days"),
        ({"id": "x", "step": "0D"}, "step '0D' must be a positive whole number of days"),
        ({"id": "x", "survivors": "best"}, "unknown survivors preset 'best'"),
        ({"id": "x", "method": "best"}, "unknown method 'best'"),
        ({"id": "x", "thresholds": {"min_alpha": 1}}, "unknown threshold(s) ['min_alpha']"),
        ({"id": "x", "grace": "1D"}, "grace '1D' must be under a day"),
        ({"id": "a|b"}, "id must be non-empty"),
        ({"id": "x", "colour": "red"}, "unknown key(s) ['colour']"),
    ],
)
def test_invalid_specs_name_the_file_and_the_problem(tmp_path, values, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        PortfolioSpec.load(path)
    assert str(path) in str(error.value)


def test_the_declared_library_loads_and_uses_the_dbt_signal_latency():
    specs = load_portfolios()
    assert [s.id for s in specs] == ["portfolio_main"]
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    latency = pd.Timedelta(seconds=variables["signal_latency_seconds"])
    assert latency == DEFAULT_LATENCY
    assert all(pd.Timedelta(s.latency) == latency for s in specs)


def test_duplicate_ids_are_rejected(tmp_path: Path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text("id: same\n")
    with pytest.raises(ValueError, match="duplicate portfolio ids"):
        load_portfolios(tmp_path)
